/*
 * runner-materialize sbom — the CycloneDX SBOM of an image, made inside the
 * image's own final build stage (docs/IMAGE.md, "SBOM"; C-SBOM-*).
 *
 * usage: runner-materialize sbom [--root DIR] [--name NAME] [--runner-facts FILE] [--base-sbom FILE] --out FILE
 *
 * It reads, below --root (default /):
 *   var/lib/dpkg/status    every installed Debian package (name, version, arch)
 *   etc/os-release         the Debian release, for the purls' distro qualifier
 *   etc/runner/image.env   the image's identity (--name overrides IMAGE_NAME:
 *                          runner-sdk carries runner-base's contract);
 *                          IMAGE_CREATED is the SBOM's timestamp (no wall
 *                          clock: the SBOM is deterministic)
 *   etc/runner/tools.env   the declared tools (TOOL_*), as properties
 *   usr/local/bin/runner   when present: hashed; runner's facts (version, the
 *                          Bun it embeds, the sha256 of src/runner.ts) come from
 *                          --runner-facts (runner-base's build stage writes it)
 *                          or from the runner component of --base-sbom (a
 *                          domain image: the SBOM runner-base carries), and the
 *                          binary must have the sha256 recorded there
 *   usr/local/bin/runner-materialize  when present (runner-sdk): hashed
 * and writes CycloneDX 1.6 JSON to --out (0444). No network, no clock, no
 * environment: the same root gives the same bytes.
 *
 * Built with @cyclonedx/cyclonedx-library (models and the JSON serializer;
 * bun bundles it into the compiled runner-materialize).
 */

import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Enums, Models, Serialize, Spec } from "@cyclonedx/cyclonedx-library";
import { parseEnv, type EnvFile } from "./runner.ts";

/** Where every image of the project carries its SBOM. */
export const SBOM_PATH = "/usr/share/runner/sbom.cdx.json";
export const SBOM_USAGE = "usage: runner-materialize sbom [--root DIR] [--name NAME] [--runner-facts FILE] [--base-sbom FILE] --out FILE";
/** The property names runner's own component carries (C-SBOM-2). */
export const PROP = {
  bun: "runner:bun_version",
  sourceSha256: "runner:source_sha256",
  sourcePath: "runner:source_path",
  tool: "runner:tool:",
  revision: "runner:image_revision",
} as const;

/** What runner-base's build stage records about the runner it compiled (scripts/runner-facts.ts). */
export type RunnerFacts = { version: string; bun: string; source_sha256: string; sha256: string };

export class SbomError extends Error {
  constructor(readonly exitCode: number, message: string) { super(message); }
}

const USAGE_ = 64, DATAERR = 65, NOINPUT = 66, CANTCREAT = 73;

export type DebPackage = { name: string; version: string; arch: string; source?: string };

/** The installed packages of a dpkg status file, sorted by name then arch. */
export function parseDpkgStatus(text: string): DebPackage[] {
  const out: DebPackage[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let last = "";
    for (const line of stanza.split("\n")) {
      if (/^[ \t]/.test(line)) { if (last) fields.set(last, `${fields.get(last)}\n${line.trim()}`); continue; }
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
      if (m) { last = m[1]!.toLowerCase(); fields.set(last, m[2]!); }
    }
    const status = fields.get("status")?.split(/\s+/);
    if (!fields.has("package") || !status || status[2] !== "installed") continue;
    const source = fields.get("source")?.split(/\s+/)[0];
    out.push({
      name: fields.get("package")!, version: fields.get("version") ?? "", arch: fields.get("architecture") ?? "",
      ...(source ? { source } : {}),
    });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.arch < b.arch ? -1 : a.arch > b.arch ? 1 : 0));
}

/** purl of a Debian package: pkg:deb/debian/NAME@VERSION?arch=ARCH[&distro=CODENAME] (purl-spec, percent-encoded). */
export function debPurl(p: DebPackage, distro?: string): string {
  const enc = (s: string) => encodeURIComponent(s);
  let purl = `pkg:deb/debian/${enc(p.name)}@${enc(p.version)}?arch=${enc(p.arch)}`;
  if (distro) purl += `&distro=${enc(distro)}`;
  return purl;
}

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

function read(path: string, optional = false): Uint8Array | null {
  try {
    return readFileSync(path);
  } catch (e) {
    if (optional && (e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new SbomError(NOINPUT, `${path}: cannot read: ${(e as NodeJS.ErrnoException).code ?? "error"}`);
  }
}

function envOf(path: string, optional: boolean): EnvFile {
  const bytes = read(path, optional);
  if (!bytes) return new Map();
  try { return parseEnv(bytes); } catch (e) { throw new SbomError(DATAERR, `${path}: ${(e as Error).message}`); }
}

const HEX64 = /^[0-9a-f]{64}$/;

/** runner's facts from a facts file (runner-base) or from the runner component of a base SBOM (domain images). */
export function runnerFactsFrom(facts: string | null, baseSbom: string | null): RunnerFacts | null {
  if (facts) {
    let f: RunnerFacts;
    try { f = JSON.parse(new TextDecoder().decode(read(facts)!)); } catch (e) {
      if (e instanceof SbomError) throw e;
      throw new SbomError(DATAERR, `${facts}: not JSON`);
    }
    if (typeof f.version !== "string" || typeof f.bun !== "string" || !HEX64.test(String(f.source_sha256)) || !HEX64.test(String(f.sha256))) {
      throw new SbomError(DATAERR, `${facts}: needs version, bun, source_sha256 and sha256`);
    }
    return { version: f.version, bun: f.bun, source_sha256: f.source_sha256, sha256: f.sha256 };
  }
  if (baseSbom) {
    const bytes = read(baseSbom, false)!;
    let c: any;
    try { c = runnerComponent(JSON.parse(new TextDecoder().decode(bytes))); } catch { c = null; }
    if (!c) throw new SbomError(DATAERR, `${baseSbom}: no runner component (is it runner-base's SBOM?)`);
    const prop = (n: string) => (c.properties ?? []).find((p: any) => p.name === n)?.value;
    const f = { version: c.version, bun: prop(PROP.bun), source_sha256: prop(PROP.sourceSha256), sha256: componentSha256(c) };
    if (typeof f.version !== "string" || typeof f.bun !== "string" || !HEX64.test(String(f.source_sha256)) || !HEX64.test(String(f.sha256))) {
      throw new SbomError(DATAERR, `${baseSbom}: the runner component lacks version, ${PROP.bun}, ${PROP.sourceSha256} or a SHA-256 hash`);
    }
    return f as RunnerFacts;
  }
  return null;
}

/** The component named runner in a parsed SBOM, or null. */
export function runnerComponent(bom: any): any | null {
  return (bom?.components ?? []).find((c: any) => c?.name === "runner" && c?.type === "application") ?? null;
}

/** The SHA-256 of a parsed component, or undefined. */
export function componentSha256(c: any): string | undefined {
  return (c?.hashes ?? []).find((h: any) => h.alg === "SHA-256")?.content;
}

export type SbomInput = {
  dpkgStatus: string;
  osRelease: EnvFile;
  image: EnvFile;
  tools: EnvFile;
  runner: (RunnerFacts & { present: true }) | null;
  /** sha256 of runner-materialize when the image holds it (runner-sdk) */
  materializeSha256: string | null;
  /** the generator's own version, for metadata.tools */
  generatorVersion: string;
};

/** The SBOM as CycloneDX 1.6 JSON text, pure: same input, same bytes. */
export function makeSbom(input: SbomInput): string {
  const name = input.image.get("IMAGE_NAME") ?? "image";
  const version = input.image.get("IMAGE_VERSION") ?? "";
  const created = input.image.get("IMAGE_CREATED");
  const distro = input.osRelease.get("VERSION_CODENAME") || undefined;
  const bom = new Models.Bom();
  const subject = new Models.Component(Enums.ComponentType.Container, name, { version, bomRef: `image:${name}` });
  const desc = input.image.get("IMAGE_DESCRIPTION");
  if (desc) subject.description = desc;
  const revision = input.image.get("IMAGE_REVISION");
  if (revision) subject.properties.add(new Models.Property(PROP.revision, revision));
  for (const [key, value] of input.tools) subject.properties.add(new Models.Property(`${PROP.tool}${key}`, value));
  bom.metadata.component = subject;
  if (created) bom.metadata.timestamp = new Date(created);
  bom.metadata.tools.components.add(new Models.Component(Enums.ComponentType.Application, "runner-materialize",
    { version: input.generatorVersion, bomRef: "tool:runner-materialize" }));

  if (input.runner) {
    const r = new Models.Component(Enums.ComponentType.Application, "runner", { version: input.runner.version, bomRef: "runner" });
    r.description = "the image's entrypoint, /usr/local/bin/runner, compiled from src/runner.ts";
    r.hashes.set(Enums.HashAlgorithm["SHA-256"], input.runner.sha256);
    r.properties.add(new Models.Property(PROP.bun, input.runner.bun));
    r.properties.add(new Models.Property(PROP.sourceSha256, input.runner.source_sha256));
    r.properties.add(new Models.Property(PROP.sourcePath, "src/runner.ts"));
    bom.components.add(r);
  }
  if (input.materializeSha256) {
    const m = new Models.Component(Enums.ComponentType.Application, "runner-materialize", { version: input.generatorVersion, bomRef: "runner-materialize" });
    m.hashes.set(Enums.HashAlgorithm["SHA-256"], input.materializeSha256);
    bom.components.add(m);
  }
  for (const p of parseDpkgStatus(input.dpkgStatus)) {
    const c = new Models.Component(Enums.ComponentType.Library, p.name, { version: p.version, bomRef: `deb:${p.name}:${p.arch}`, purl: debPurl(p, distro) });
    if (p.source) c.properties.add(new Models.Property("runner:deb_source", p.source));
    bom.components.add(c);
  }
  const serializer = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6));
  const body = serializer.serialize(bom, { sortLists: true, space: 2 });
  // A serial number is optional; when given it must be unique per BOM: derive
  // it from the content, so it is both unique and reproducible.
  const parsed = JSON.parse(body);
  const h = sha256(new TextEncoder().encode(body));
  parsed.serialNumber = `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  const ordered = { $schema: parsed.$schema, bomFormat: parsed.bomFormat, specVersion: parsed.specVersion, serialNumber: parsed.serialNumber, ...parsed };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

type SbomArgs = { root: string; name: string | null; facts: string | null; baseSbom: string | null; out: string };

export function parseSbomArgs(argv: readonly string[]): SbomArgs {
  const a: { root: string | null; name: string | null; facts: string | null; baseSbom: string | null; out: string | null } = { root: null, name: null, facts: null, baseSbom: null, out: null };
  const keys: Record<string, keyof typeof a> = { "--root": "root", "--name": "name", "--runner-facts": "facts", "--base-sbom": "baseSbom", "--out": "out" };
  for (let i = 0; i < argv.length; i++) {
    const opt = argv[i]!;
    const key = keys[opt];
    if (!key) throw new SbomError(USAGE_, `sbom: unknown argument '${opt}' (${SBOM_USAGE})`);
    const v = argv[++i];
    if (v === undefined || v === "") throw new SbomError(USAGE_, `sbom: ${opt} needs a value (${SBOM_USAGE})`);
    if (a[key] !== null) throw new SbomError(USAGE_, `sbom: ${opt} given twice`);
    a[key] = v;
  }
  if (a.out === null) throw new SbomError(USAGE_, `sbom: --out FILE is required (${SBOM_USAGE})`);
  if (a.facts !== null && a.baseSbom !== null) throw new SbomError(USAGE_, "sbom: give --runner-facts or --base-sbom, not both");
  return { root: a.root ?? "/", name: a.name, facts: a.facts, baseSbom: a.baseSbom, out: a.out };
}

function withName(image: EnvFile, name: string | null): EnvFile {
  if (name === null) return image;
  const m = new Map(image);
  m.set("IMAGE_NAME", name);
  return m;
}

/** The whole subcommand: reads the root, writes the SBOM. */
export function runSbom(argv: readonly string[], generatorVersion: string): number {
  const args = parseSbomArgs(argv);
  const at = (p: string) => join(args.root, p);
  const status = read(at("var/lib/dpkg/status"))!;
  const binary = read(at("usr/local/bin/runner"), true);
  const facts = runnerFactsFrom(args.facts, args.baseSbom);
  let runner: SbomInput["runner"] = null;
  if (binary) {
    if (!facts) throw new SbomError(USAGE_, "sbom: the image holds /usr/local/bin/runner: give --runner-facts FILE or --base-sbom FILE (runner-base's SBOM) to describe it");
    const got = sha256(binary);
    if (got !== facts.sha256) {
      throw new SbomError(DATAERR, `sbom: /usr/local/bin/runner has sha256 ${got}, but ${args.facts ?? args.baseSbom} records ${facts.sha256}`);
    }
    runner = { ...facts, present: true };
  }
  const rm = read(at("usr/local/bin/runner-materialize"), true);
  const text = makeSbom({
    dpkgStatus: new TextDecoder().decode(status),
    osRelease: envOf(at("etc/os-release"), true),
    image: withName(envOf(at("etc/runner/image.env"), false), args.name),
    tools: envOf(at("etc/runner/tools.env"), true),
    runner,
    materializeSha256: rm ? sha256(rm) : null,
    generatorVersion,
  });
  try {
    mkdirSync(dirname(args.out), { recursive: true });
    if (existsSync(args.out)) unlinkSync(args.out);
    writeFileSync(args.out, text, { mode: 0o444 });
    chmodSync(args.out, 0o444);
  } catch (e) {
    throw new SbomError(CANTCREAT, `sbom: ${args.out}: cannot write: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  return 0;
}
