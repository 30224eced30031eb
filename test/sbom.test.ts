// src/sbom.ts, `runner-materialize sbom` (C-SBOM-1..4): the pure parts and
// the command (run with bun, as in the build stage) on a made-up root file
// system. The SBOMs the images carry are tested in test/image/sbom.test.ts,
// where they are also validated against the CycloneDX schema.
import { afterAll, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { debPurl, makeSbom, parseDpkgStatus, PROP, runnerComponent, componentSha256, type SbomInput } from "../src/sbom.ts";

const ROOT = join(import.meta.dir, "..");
const MATERIALIZE = join(ROOT, "src", "materialize.ts");
const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
const sha256 = (b: string | Uint8Array) => createHash("sha256").update(b).digest("hex");

const STATUS = `Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib
Version: 1:1.2.13.dfsg-1
Description: compression library - runtime
 zlib is a library implementing the deflate compression method

Package: removed-one
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: base-files
Essential: yes
Status: install ok installed
Architecture: amd64
Version: 12.4+deb12u8

Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u9
`;

function input(over: Partial<SbomInput> = {}): SbomInput {
  return {
    dpkgStatus: STATUS,
    osRelease: new Map([["VERSION_CODENAME", "bookworm"]]),
    image: new Map([["IMAGE_NAME", "runner-base"], ["IMAGE_VERSION", "9.8.7"], ["IMAGE_CREATED", "2026-11-26T06:56:24Z"], ["IMAGE_REVISION", "abc123"]]),
    tools: new Map(),
    runner: { version: "9.8.7", bun: "1.2.3", source_sha256: "a".repeat(64), sha256: "b".repeat(64), present: true },
    materializeSha256: null,
    generatorVersion: "9.8.7",
    ...over,
  };
}

test("C-SBOM-2: every installed Debian package, sorted, with its version and arch; removed ones are not listed", () => {
  expect(parseDpkgStatus(STATUS)).toEqual([
    { name: "base-files", version: "12.4+deb12u8", arch: "amd64" },
    { name: "libc6", version: "2.36-9+deb12u9", arch: "amd64", source: "glibc" },
    { name: "zlib1g", version: "1:1.2.13.dfsg-1", arch: "amd64", source: "zlib" },
  ]);
});

test("C-SBOM-2: a Debian package's purl is pkg:deb/debian/NAME@VERSION?arch=ARCH, percent-encoded (epoch colon, plus)", () => {
  expect(debPurl({ name: "zlib1g", version: "1:1.2.13.dfsg-1", arch: "amd64" }, "bookworm"))
    .toBe("pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&distro=bookworm");
  expect(debPurl({ name: "libstdc++6", version: "12.2.0-14+deb12u1", arch: "amd64" }))
    .toBe("pkg:deb/debian/libstdc%2B%2B6@12.2.0-14%2Bdeb12u1?arch=amd64");
});

test("C-SBOM-2: the SBOM is CycloneDX 1.6 JSON naming the image, runner's facts and every package", () => {
  const bom = JSON.parse(makeSbom(input({ tools: new Map([["TOOL_ANSIBLE_CORE_VERSION", "2.14.3"]]) })));
  expect({ format: bom.bomFormat, spec: bom.specVersion }).toEqual({ format: "CycloneDX", spec: "1.6" });
  expect(bom.metadata.component).toMatchObject({ type: "container", name: "runner-base", version: "9.8.7" });
  expect(bom.metadata.component.properties).toContainEqual({ name: `${PROP.tool}TOOL_ANSIBLE_CORE_VERSION`, value: "2.14.3" });
  expect(bom.metadata.timestamp).toBe("2026-11-26T06:56:24.000Z");
  const r = runnerComponent(bom);
  expect(r).toMatchObject({ type: "application", name: "runner", version: "9.8.7" });
  expect(componentSha256(r)).toBe("b".repeat(64));
  expect(r.properties).toContainEqual({ name: PROP.bun, value: "1.2.3" });
  expect(r.properties).toContainEqual({ name: PROP.sourceSha256, value: "a".repeat(64) });
  const debs = bom.components.filter((c: any) => c.purl?.startsWith("pkg:deb/"));
  expect(debs.map((c: any) => `${c.name} ${c.version} ${c.purl}`)).toEqual([
    "base-files 12.4+deb12u8 pkg:deb/debian/base-files@12.4%2Bdeb12u8?arch=amd64&distro=bookworm",
    "libc6 2.36-9+deb12u9 pkg:deb/debian/libc6@2.36-9%2Bdeb12u9?arch=amd64&distro=bookworm",
    "zlib1g 1:1.2.13.dfsg-1 pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&distro=bookworm",
  ]);
});

test("C-SBOM-3: the same input gives the same bytes (no clock, stable order); another input another serial number", () => {
  const a = makeSbom(input());
  expect(makeSbom(input())).toBe(a);
  // Order of the status file does not matter.
  const shuffled = STATUS.split("\n\n").reverse().join("\n\n");
  expect(makeSbom(input({ dpkgStatus: shuffled }))).toBe(a);
  const b = makeSbom(input({ image: new Map([["IMAGE_NAME", "other"], ["IMAGE_VERSION", "1"]]) }));
  expect(JSON.parse(b).serialNumber).not.toBe(JSON.parse(a).serialNumber);
  expect(JSON.parse(a).serialNumber).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

/** A made-up root: dpkg status, os-release, the contract, a "runner" binary. */
function fakeRoot(binary = "runner binary"): string {
  const root = mkdtempSync(join(tmpdir(), "runner-sbom-"));
  dirs.push(root);
  for (const d of ["var/lib/dpkg", "etc/runner", "usr/local/bin"]) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, "var/lib/dpkg/status"), STATUS);
  writeFileSync(join(root, "etc/os-release"), 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_CODENAME=bookworm\n');
  writeFileSync(join(root, "etc/runner/image.env"), "IMAGE_NAME=runner-x\nIMAGE_VERSION=1.0.0\nIMAGE_CREATED=2026-11-26T06:56:24Z\n");
  writeFileSync(join(root, "etc/runner/tools.env"), "TOOL_X_VERSION=4.2\n");
  writeFileSync(join(root, "usr/local/bin/runner"), binary);
  writeFileSync(join(root, "facts.json"), JSON.stringify({ version: "1.0.0", bun: "9.9.9", source_sha256: "c".repeat(64), sha256: sha256("runner binary") }));
  return root;
}

function sbomCmd(args: string[]) {
  const r = Bun.spawnSync([process.execPath, MATERIALIZE, "sbom", ...args], { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

test("C-SBOM-1: runner-materialize sbom writes the SBOM of a root (0444), with the runner facts given and the tools of tools.env", () => {
  const root = fakeRoot();
  const out = join(root, "usr/share/runner/sbom.cdx.json");
  const r = sbomCmd(["--root", root, "--runner-facts", join(root, "facts.json"), "--out", out]);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  expect(statSync(out).mode & 0o777).toBe(0o444);
  const bom = JSON.parse(readFileSync(out, "utf8"));
  expect(componentSha256(runnerComponent(bom))).toBe(sha256("runner binary"));
  expect(bom.metadata.component.properties).toContainEqual({ name: `${PROP.tool}TOOL_X_VERSION`, value: "4.2" });
  // A domain image: the facts come from the base's SBOM, which may be the output itself.
  const again = sbomCmd(["--root", root, "--base-sbom", out, "--out", out]);
  expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: "" });
  expect(readFileSync(out, "utf8")).toBe(JSON.stringify(bom, null, 2) + "\n");
});

test("C-SBOM-4: a runner binary that is not the one the facts or the base SBOM describe fails the build (65), one line", () => {
  const root = fakeRoot("another runner");
  const r = sbomCmd(["--root", root, "--runner-facts", join(root, "facts.json"), "--out", join(root, "out.json")]);
  expect(r.code).toBe(65);
  expect(r.stderr).toMatch(/^runner-materialize: sbom: \/usr\/local\/bin\/runner has sha256 [0-9a-f]{64}, but .* records [0-9a-f]{64}\n$/);
  const none = sbomCmd(["--root", root, "--out", join(root, "out.json")]);
  expect(none.code).toBe(64);
  expect(none.stderr.split("\n")).toHaveLength(2);
  const usage = sbomCmd(["--bogus"]);
  expect({ code: usage.code, lines: usage.stderr.split("\n").length }).toEqual({ code: 64, lines: 2 });
  const missing = sbomCmd(["--root", join(root, "nope"), "--out", join(root, "out.json")]);
  expect(missing.code).toBe(66);
});
