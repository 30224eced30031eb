// Emulation of foreign architectures (arm64 on an amd64 build machine) for
// multi-platform builds and tests: qemu-user-static registered in the
// kernel's binfmt_misc. The kernel setting is host-wide, so whoever turns it
// on turns off again exactly what it turned on (and nothing else).
//
//   bun scripts/binfmt.ts enable ARCH   prints a token naming what it changed ("" if nothing)
//   bun scripts/binfmt.ts restore TOKEN undoes exactly that
//
// Needs root, the Debian packages qemu-user-static and binfmt-support
// (scripts/setup.sh installs them). Errors are one line: `binfmt: …`.
import { existsSync, readFileSync } from "node:fs";

const MISC = "/proc/sys/fs/binfmt_misc";

/** Platform name (OCI, as in RUNNER_PLATFORMS) → qemu/binfmt name and `uname -m`. */
export const QEMU: Record<string, { qemu: string; uname: string }> = {
  amd64: { qemu: "x86_64", uname: "x86_64" },
  arm64: { qemu: "aarch64", uname: "aarch64" },
};

/** The build machine's architecture as an OCI name (amd64, arm64). */
export function hostArch(): string {
  const m = process.arch;
  if (m === "x64") return "amd64";
  if (m === "arm64") return "arm64";
  return m;
}

/** What `enable` changed, so that `restore` undoes only that. */
export type Change = { mounted: boolean; enabled: string[] };

export class BinfmtError extends Error {}

function run(argv: string[]): { code: number; out: string } {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  return { code: r.exitCode ?? 1, out: (r.stdout.toString() + r.stderr.toString()).trim() };
}

const mounted = (): boolean => existsSync(`${MISC}/status`);

/** True when the kernel runs ARCH binaries through an emulator already. */
export function registered(arch: string): boolean {
  if (arch === hostArch()) return true;
  const q = QEMU[arch];
  if (!q || !mounted()) return false;
  const entry = `${MISC}/qemu-${q.qemu}`;
  return existsSync(entry) && readFileSync(entry, "utf8").startsWith("enabled");
}

/** Makes ARCH binaries runnable; returns what it changed. Throws BinfmtError with the reason when it cannot. */
export function enable(arch: string): Change {
  const change: Change = { mounted: false, enabled: [] };
  if (registered(arch)) return change;
  const q = QEMU[arch];
  if (!q) throw new BinfmtError(`no emulator known for architecture '${arch}'`);
  if (process.getuid?.() !== 0) throw new BinfmtError(`registering qemu-${q.qemu} in binfmt_misc needs root`);
  if (!Bun.which("update-binfmts") || !existsSync(`/usr/libexec/qemu-binfmt/${q.qemu}-binfmt-P`) && !Bun.which(`qemu-${q.qemu}-static`)) {
    throw new BinfmtError(`qemu-user-static and binfmt-support are not installed (bash scripts/setup.sh installs them)`);
  }
  if (!mounted()) {
    const r = run(["mount", "-t", "binfmt_misc", "binfmt_misc", MISC]);
    if (r.code !== 0) throw new BinfmtError(`cannot mount binfmt_misc on ${MISC}: ${r.out.split("\n")[0]}`);
    change.mounted = true;
  }
  const r = run(["update-binfmts", "--enable", `qemu-${q.qemu}`]);
  if (r.code !== 0 || !registered(arch)) {
    restore(change);
    throw new BinfmtError(`update-binfmts --enable qemu-${q.qemu} failed: ${r.out.split("\n")[0] || "not registered afterwards"}`);
  }
  change.enabled.push(`qemu-${q.qemu}`);
  return change;
}

/** Undoes exactly what enable() changed. */
export function restore(change: Change): void {
  for (const name of change.enabled) run(["update-binfmts", "--disable", name]);
  if (change.mounted) run(["umount", MISC]);
}

export const encode = (c: Change): string => [c.mounted ? "mounted" : "", ...c.enabled].filter(Boolean).join(",");
export const decode = (s: string): Change => {
  const parts = s.split(",").filter(Boolean);
  return { mounted: parts.includes("mounted"), enabled: parts.filter((p) => /^qemu-[a-z0-9_]+$/.test(p)) };
};

if (import.meta.main) {
  const [cmd, arg = ""] = process.argv.slice(2);
  try {
    if (cmd === "enable") console.log(encode(enable(arg)));
    else if (cmd === "restore") restore(decode(arg));
    else throw new BinfmtError("usage: bun scripts/binfmt.ts enable ARCH | restore TOKEN");
    process.exit(0);
  } catch (e) {
    console.error(`binfmt: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
    process.exit(1);
  }
}
