// bun scripts/layers.ts IMAGE [BASE_IMAGE]
//
// What an image stores, layer by layer, read from the layers themselves
// (`ENGINE save`, a docker-archive with uncompressed layer tars; the same on
// podman and docker): per layer its unpacked size, its gzip size (what a
// registry stores and a CI job pulls, gzip level 6 as engines push), and
// every regular file that re-adds a path an earlier layer added with the
// same content (a file stored twice, C-IMAGE-9). With BASE_IMAGE, the layers
// of that image are the "base" and the rest the "project" layers.
// docs/IMAGE.md quotes its output. Errors are one line (`layers: …`).
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { engineEnv, findEngine } from "./image.ts";

export type Entry = { path: string; type: "file" | "dir" | "link" | "symlink" | "other"; size: number; sha256?: string; mode: number; uid: number; gid: number };
export type Layer = { digest: string; bytes: number; gzipBytes: number; entries: Entry[] };
export type Duplicate = { path: string; sha256: string; size: number; layer: number; earlier: number };

export class LayersError extends Error {}

const text = (b: Uint8Array, from: number, len: number): string => {
  const s = new TextDecoder().decode(b.subarray(from, from + len));
  const nul = s.indexOf("\0");
  return nul < 0 ? s : s.slice(0, nul);
};
const octal = (b: Uint8Array, from: number, len: number): number => {
  // GNU base-256 for big numbers: first byte 0x80.
  if (b[from]! & 0x80) {
    let n = 0;
    for (let i = from + 1; i < from + len; i++) n = n * 256 + b[i]!;
    return n;
  }
  const s = text(b, from, len).trim();
  return s ? parseInt(s, 8) : 0;
};

/** Entries of an uncompressed tar (ustar, pax and GNU long names). */
export function readTar(tar: Uint8Array, hash = true): Entry[] {
  const out: Entry[] = [];
  let off = 0;
  let longName: string | null = null;
  let paxPath: string | null = null;
  while (off + 512 <= tar.length) {
    const h = tar.subarray(off, off + 512);
    if (h.every((x) => x === 0)) break;
    const size = octal(h, 124, 12);
    const flag = String.fromCharCode(h[156]! || 48);
    const body = tar.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (flag === "L") { longName = text(body, 0, body.length); continue; }
    if (flag === "x") {
      for (const rec of new TextDecoder().decode(body).split("\n")) {
        const m = /^\d+ path=(.*)$/.exec(rec);
        if (m) paxPath = m[1]!;
      }
      continue;
    }
    if (flag === "g") continue;
    const prefix = text(h, 345, 155);
    let path = longName ?? paxPath ?? (prefix ? `${prefix}/${text(h, 0, 100)}` : text(h, 0, 100));
    longName = paxPath = null;
    path = `/${path.replace(/^\.?\/+/, "").replace(/\/+$/, "")}`;
    const type = flag === "0" || flag === "7" ? "file" : flag === "5" ? "dir" : flag === "1" ? "link" : flag === "2" ? "symlink" : "other";
    const e: Entry = { path, type, size: type === "file" ? size : 0, mode: octal(h, 100, 8) & 0o7777, uid: octal(h, 108, 8), gid: octal(h, 116, 8) };
    if (hash && type === "file") e.sha256 = createHash("sha256").update(body).digest("hex");
    out.push(e);
  }
  return out;
}

/** Reads an image's layers in order (bottom first) through `ENGINE save`. */
export function readLayers(image: string, engine = findEngine(), gzip = true): Layer[] {
  const dir = mkdtempSync(join(process.env.TMPDIR ?? "/var/tmp", "runner-layers-"));
  try {
    const archive = join(dir, "image.tar");
    const args = [engine, "save", "-o", archive, ...(/podman$/.test(engine) ? ["--format", "docker-archive"] : []), image];
    const r = Bun.spawnSync(args, { env: engineEnv(engine), stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) throw new LayersError(`${engine} save ${image} failed: ${r.stderr.toString().trim().split("\n").pop()}`);
    const files = new Map<string, Uint8Array>();
    const outer = readFileSync(archive);
    // The outer archive: manifest.json and one tar per layer.
    let off = 0;
    while (off + 512 <= outer.length) {
      const h = outer.subarray(off, off + 512);
      if (h.every((x) => x === 0)) break;
      const size = octal(h, 124, 12);
      const name = text(h, 0, 100);
      files.set(name.replace(/^\.\//, ""), outer.subarray(off + 512, off + 512 + size));
      off += 512 + Math.ceil(size / 512) * 512;
    }
    const manifest = JSON.parse(new TextDecoder().decode(files.get("manifest.json") ?? new Uint8Array()) || "[]");
    const paths: string[] = manifest[0]?.Layers ?? [];
    if (!paths.length) throw new LayersError(`${image}: the saved archive lists no layers`);
    return paths.map((p) => {
      const tar = files.get(p);
      if (!tar) throw new LayersError(`${image}: layer ${p} is missing from the saved archive`);
      return {
        digest: `sha256:${createHash("sha256").update(tar).digest("hex")}`,
        bytes: tar.length,
        gzipBytes: gzip ? Bun.gzipSync(tar as Uint8Array<ArrayBuffer>, { level: 6 }).length : 0,
        entries: readTar(tar),
      };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Regular files of a layer at index `since` or above that re-add a path an
 * earlier layer, also at `since` or above, added with the same bytes: stored
 * twice for nothing. A whiteout of the path in between resets it; empty
 * files are not counted (a second tar header is all they cost).
 */
export function duplicates(layers: Layer[], since = 0): Duplicate[] {
  const seen = new Map<string, { sha256: string; layer: number }>();
  const out: Duplicate[] = [];
  layers.forEach((layer, i) => {
    for (const e of layer.entries) {
      const m = /^(.*)\/\.wh\.([^/]*)$/.exec(e.path);
      if (m) { seen.delete(`${m[1]}/${m[2]}`); continue; }
      // An empty file stores nothing twice (apt touches /etc/.pwd.lock, for one).
      if (e.type !== "file" || e.size === 0) continue;
      const before = seen.get(e.path);
      if (before && before.sha256 === e.sha256 && i >= since && before.layer >= since) {
        out.push({ path: e.path, sha256: e.sha256!, size: e.size, layer: i, earlier: before.layer });
      }
      seen.set(e.path, { sha256: e.sha256!, layer: i });
    }
  });
  return out;
}

const MiB = (n: number) => (n / 1048576).toFixed(1);

function main(argv: string[]): number {
  if (argv.length < 1 || argv.length > 2 || argv[0]!.startsWith("-")) {
    console.error("layers: usage: bun scripts/layers.ts IMAGE [BASE_IMAGE]");
    return 64;
  }
  const [image, baseImage] = argv as [string, string | undefined];
  const layers = readLayers(image);
  const baseCount = baseImage ? readLayers(baseImage, undefined, false).length : 0;
  let total = 0, gz = 0, baseBytes = 0, baseGz = 0;
  layers.forEach((l, i) => {
    total += l.bytes; gz += l.gzipBytes;
    if (i < baseCount) { baseBytes += l.bytes; baseGz += l.gzipBytes; }
    const top = [...l.entries].filter((e) => e.type === "file").sort((a, b) => b.size - a.size)[0];
    console.log(`layer ${i} ${i < baseCount ? "base   " : "project"} ${MiB(l.bytes).padStart(7)} MiB unpacked ${MiB(l.gzipBytes).padStart(7)} MiB gzip  ${l.entries.length} entries${top ? `, largest ${top.path} ${MiB(top.size)} MiB` : ""}`);
  });
  console.log(`total ${MiB(total)} MiB unpacked (${total} bytes), ${MiB(gz)} MiB gzip (${gz} bytes)`);
  if (baseImage) console.log(`above ${baseImage}: ${MiB(total - baseBytes)} MiB unpacked, ${MiB(gz - baseGz)} MiB gzip`);
  const dups = duplicates(layers, baseCount);
  for (const d of dups) console.log(`duplicate: ${d.path} (${d.size} bytes) in layer ${d.layer}, same as layer ${d.earlier}`);
  console.log(`${dups.length} file(s) stored twice in the project layers`);
  const again = duplicates(layers, 0).filter((d) => d.earlier < baseCount);
  if (again.length) {
    console.log(`${again.length} file(s) of the base re-added unchanged (${again.reduce((n, d) => n + d.size, 0)} bytes; e.g. a mode change: ${again.slice(0, 5).map((d) => d.path).join(", ")})`);
  }
  return 0;
}

if (import.meta.main) {
  let code: number;
  try { code = main(process.argv.slice(2)); } catch (e) {
    console.error(`layers: ${String((e as Error)?.message ?? e).split("\n")[0]}`);
    code = 1;
  }
  process.exit(code);
}
