// The SBOM every image of the project carries (C-SBOM-1..3): at
// /usr/share/runner/sbom.cdx.json, CycloneDX 1.6 JSON valid against the
// CycloneDX schema (strict), listing exactly the Debian packages dpkg knows in
// that image, runner's facts, and a domain image's declared tools; the build
// left the same bytes in .cache/sbom/. Needs `bun run image` and `bun run examples`.
import { expect, setDefaultTimeout, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Spec, Validation } from "@cyclonedx/cyclonedx-library";
import { BUN_VERSION, SBOM_DIR, SBOM_PATH } from "../../scripts/image.ts";
import { EXAMPLES, exampleTag } from "../../scripts/examples.ts";
import { parseEnv } from "../../src/runner.ts";
import { componentSha256, PROP, runnerComponent } from "../../src/sbom.ts";
import { BASE_TAG, ROOT, SDK_TAG, VERSION, describeImage, engine, requireImage } from "./engine.ts";

setDefaultTimeout(120_000);

const sha256 = (b: string | Uint8Array) => createHash("sha256").update(b).digest("hex");

const seen = new Map<string, Promise<string>>();
/** Runs one command in a container of image (as root), once per image and command: the images do not change. */
function inImage(image: string, cmd: string[]): Promise<string> {
  const key = JSON.stringify([image, cmd]);
  if (!seen.has(key)) {
    seen.set(key, engine(["run", "--rm", "--user", "0", "--entrypoint", cmd[0]!, image, ...cmd.slice(1)]).then((r) => {
      if (r.code !== 0) throw new Error(`${cmd.join(" ")} in ${image} failed: ${r.stderr.trim()}`);
      return r.stdout;
    }));
  }
  return seen.get(key)!;
}

const IMAGES: Array<{ tag: string; name: string; how: string; runner: boolean }> = [
  { tag: BASE_TAG, name: "runner-base", how: "bun run image", runner: true },
  { tag: SDK_TAG, name: "runner-sdk", how: "bun run image", runner: false },
  ...EXAMPLES.map((e) => ({ tag: exampleTag(e), name: `runner-example-${e}`, how: "bun run examples", runner: true })),
];

describeImage("SBOM in every image", () => {
  for (const img of IMAGES) {
    test(`C-SBOM-1: ${img.name} carries a valid CycloneDX 1.6 SBOM at ${SBOM_PATH} (root, 0444), the same bytes as the build's .cache/sbom/${img.name}.cdx.json`, async () => {
      await requireImage(img.tag, img.how);
      const text = await inImage(img.tag, ["/bin/cat", SBOM_PATH]);
      expect(await inImage(img.tag, ["/usr/bin/stat", "-c", "%u:%g %a", SBOM_PATH])).toBe("0:0 444\n");
      const error = await new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(text);
      expect(error).toBeNull();
      // The validator is not a rubber stamp: a broken SBOM is refused.
      const broken = JSON.parse(text);
      broken.components[0].type = "not-a-type";
      expect(await new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(JSON.stringify(broken))).not.toBeNull();
      const copy = join(SBOM_DIR, `${img.name}.cdx.json`);
      expect(existsSync(copy)).toBe(true);
      expect(sha256(readFileSync(copy))).toBe(sha256(text));
    });

    test(`C-SBOM-2: ${img.name}'s SBOM lists exactly the Debian packages installed in it, with purls, and names the image`, async () => {
      await requireImage(img.tag, img.how);
      const bom = JSON.parse(await inImage(img.tag, ["/bin/cat", SBOM_PATH]));
      const dpkg = await inImage(img.tag, ["/usr/bin/dpkg-query", "-W", "-f", "${db:Status-Status} ${Package} ${Version} ${Architecture}\\n"]);
      const installed = dpkg.trim().split("\n").filter((l) => l.startsWith("installed ")).map((l) => l.slice(10)).sort();
      expect(installed.length).toBeGreaterThan(50);
      const listed = bom.components.filter((c: any) => c.purl?.startsWith("pkg:deb/")).map((c: any) => {
        const arch = /[?&]arch=([^&]+)/.exec(c.purl)?.[1];
        expect(c.purl).toStartWith(`pkg:deb/debian/${encodeURIComponent(c.name)}@${encodeURIComponent(c.version)}?arch=${arch}`);
        return `${c.name} ${c.version} ${arch}`;
      }).sort();
      expect(listed).toEqual(installed);
      const identity = parseEnv(new TextEncoder().encode(await inImage(img.tag, ["/bin/cat", "/etc/runner/image.env"])));
      expect(bom.metadata.component.name).toBe(img.name === "runner-sdk" ? "runner-sdk" : identity.get("IMAGE_NAME"));
      expect(bom.metadata.timestamp).toBe(new Date(identity.get("IMAGE_CREATED")!).toISOString());
    });

    if (img.runner) {
      test(`C-SBOM-2: ${img.name}'s SBOM records runner: version, the sha256 of its binary, its Bun, the sha256 of src/runner.ts`, async () => {
        await requireImage(img.tag, img.how);
        const bom = JSON.parse(await inImage(img.tag, ["/bin/cat", SBOM_PATH]));
        const r = runnerComponent(bom);
        expect(r?.version).toBe(VERSION);
        expect(componentSha256(r)).toBe((await inImage(img.tag, ["/usr/bin/sha256sum", "/usr/local/bin/runner"])).split(" ")[0]);
        const prop = (n: string) => r.properties.find((p: any) => p.name === n)?.value;
        expect(prop(PROP.bun)).toBe(BUN_VERSION);
        expect(prop(PROP.sourceSha256)).toBe(sha256(readFileSync(join(ROOT, "src", "runner.ts"))));
      });
    }
  }

  test("C-SBOM-2: a domain image's SBOM lists its declared tools (TOOL_* of tools.env), runner-base's lists none", async () => {
    for (const img of IMAGES.filter((i) => i.name !== "runner-sdk")) {
      await requireImage(img.tag, img.how);
      const bom = JSON.parse(await inImage(img.tag, ["/bin/cat", SBOM_PATH]));
      const tools = parseEnv(new TextEncoder().encode(await inImage(img.tag, ["/bin/cat", "/etc/runner/tools.env"])));
      const declared = (bom.metadata.component.properties ?? []).filter((p: any) => p.name.startsWith(PROP.tool))
        .map((p: any) => [p.name.slice(PROP.tool.length), p.value]);
      expect({ image: img.name, tools: declared }).toEqual({ image: img.name, tools: [...tools].sort() });
      // The examples that install a tool declare it (hello installs none).
      if (["ansible", "kubectl", "typescript"].some((e) => img.name.endsWith(e))) expect({ image: img.name, n: declared.length > 0 }).toEqual({ image: img.name, n: true });
    }
  });
});
