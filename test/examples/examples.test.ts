// What every example image must be, whatever its domain: a derived image of
// runner-base whose contract is its manifest materialized on the base's
// (C-IMAGE-6, C-MANIFEST-4), whose labels come from the same manifest
// (C-IMAGE-3), whose plugins are root's and pass runner's checks
// (C-PLUGIN-1, C-PLUGIN-2, C-CHECK-1), and which holds no manifest (C-PATH-1).
// Needs `bun run examples` (after `bun run image`).
import { expect, test } from "bun:test";
import { describeImage } from "../image/engine.ts";
import { BASE_TAG, engine, exampleTag, infoOf, lines, manifestOf, requireImage, runExample, shellIn, SLOW } from "./lib.ts";

/** The plugins each example ships, sorted by name like `runner plugins --json`. */
const PLUGINS: Record<string, string[]> = {
  hello: ["hello"],
  ansible: ["ansible", "ansible-galaxy", "ansible-playbook"],
  kubectl: ["kubectl"],
  typescript: ["report"],
  template: ["greet"],
};

const pick = (m: Map<string, string>, prefix: string) =>
  Object.fromEntries([...m].filter(([k]) => k.startsWith(prefix)));

describeImage("example images (plugins-examples/*)", () => {
  for (const name of Object.keys(PLUGINS)) {
    test(`C-IMAGE-6 C-MANIFEST-4: ${name}: info --json is its manifest materialized on top of the runner-base contract`, async () => {
      const [info, base] = await Promise.all([infoOf(exampleTag(name)), infoOf(BASE_TAG)]);
      const manifest = manifestOf(name);
      // Its own identity, in manifest order, then the added keys.
      const own = pick(manifest, "IMAGE_");
      expect(Object.keys(info.image)).toEqual([...Object.keys(own), "IMAGE_BASE_NAME", "IMAGE_BASE_VERSION", "IMAGE_CREATED", "IMAGE_REVISION"]);
      expect(info.image).toMatchObject(own);
      expect(info.image.IMAGE_BASE_NAME).toBe(base.image.IMAGE_NAME!);
      expect(info.image.IMAGE_BASE_VERSION).toBe(base.image.IMAGE_VERSION!);
      expect(info.image.IMAGE_CREATED).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      // The runtime is inherited unchanged; tools are the base's plus its own.
      expect(info.runtime).toEqual(base.runtime);
      expect(info.tools).toEqual({ ...base.tools, ...pick(manifest, "TOOL_") });
      expect(Object.keys(pick(manifest, "RUNNER_"))).toEqual([]);
    }, SLOW);

    test(`C-IMAGE-3: ${name}: OCI labels come from its manifest and name runner-base as the base`, async () => {
      const tag = exampleTag(name);
      await requireImage(tag);
      const [r, info] = await Promise.all([engine(["image", "inspect", "--format", "{{json .Config.Labels}}", tag]), infoOf(tag)]);
      expect(r.code).toBe(0);
      const labels = JSON.parse(r.stdout) as Record<string, string>;
      const p = "org.opencontainers.image";
      const m = manifestOf(name);
      expect({
        title: labels[`${p}.title`], version: labels[`${p}.version`], description: labels[`${p}.description`],
        source: labels[`${p}.source`], licenses: labels[`${p}.licenses`], base: labels[`${p}.base.name`],
        created: labels[`${p}.created`], revision: labels[`${p}.revision`],
      }).toEqual({
        title: m.get("IMAGE_NAME"), version: m.get("IMAGE_VERSION"), description: m.get("IMAGE_DESCRIPTION"),
        source: m.get("IMAGE_SOURCE"), licenses: m.get("IMAGE_LICENSES"), base: BASE_TAG,
        created: info.image.IMAGE_CREATED, revision: info.image.IMAGE_REVISION,
      });
    }, SLOW);

    test(`C-PLUGIN-1 C-PLUGIN-2 C-CHECK-1: ${name}: its plugins are owned by root, 0755 (links: target and its folder too) and all ok; check passes`, async () => {
      const plugins = await runExample(name, ["plugins", "--json"]);
      expect(plugins.code).toBe(0);
      const entries = (JSON.parse(plugins.stdout) as { plugins: { name: string; status: string; reason: string }[] }).plugins;
      expect(entries.map((e) => [e.name, e.status, e.reason])).toEqual(PLUGINS[name]!.map((n) => [n, "ok", ""]));
      // Independently of runner's own checks: owner and mode of each entry,
      // and for a link, of its final target and the folder that holds it.
      const stat = await shellIn(name, `cd /usr/local/lib/runner.d && stat -c '%n %U:%G %a %F' . * && for f in *; do
        if [ -L "$f" ]; then t=$(readlink -f "$f"); stat -L -c "$f -> %n %U:%G %a %F" "$t"; stat -c "$f -> %n %U:%G %a" "$(dirname "$t")"; fi; done`);
      expect(stat.code).toBe(0);
      for (const line of lines(stat.stdout)) {
        if (line.startsWith(". ")) { expect(line).toBe(". root:root 755 directory"); continue; }
        if (line.includes(" -> ")) { expect(line).toMatch(/ root:root 755( regular file)?$/); continue; }
        expect(line).toMatch(/^[a-z0-9][a-z0-9_-]* root:root (755 regular file|777 symbolic link)$/);
      }
      const check = await runExample(name, ["check"], ["--init"]);
      expect(check.stdout).not.toContain("FAIL");
      expect(check.code).toBe(0);
    }, SLOW);

    test(`C-HOME-2: ${name}: no build-time leftovers: HOME is empty, owned by the user and group 0 with g=u, and /tmp is empty`, async () => {
      const r = await shellIn(name, 'stat -c "%n %u:%g %a" "$HOME"; find "$HOME" /tmp -mindepth 1 -print', ["--user", "0"]);
      expect(r.code).toBe(0);
      expect(lines(r.stdout)).toEqual(["/home/runner 10001:0 770"]);
    }, SLOW);

    test(`C-PATH-1 C-IMAGE-1: ${name}: no image.manifest and no base contract copy in the image; /etc/runner owned by root and read-only`, async () => {
      const r = await shellIn(name, "find / -xdev \\( -name image.manifest -o -name base-contract \\) -print; stat -c '%n %U:%G %a' /etc/runner /etc/runner/*");
      expect(r.code).toBe(0);
      expect(lines(r.stdout)).toEqual([
        "/etc/runner root:root 555",
        "/etc/runner/image.env root:root 444",
        "/etc/runner/runtime.env root:root 444",
        "/etc/runner/tools.env root:root 444",
      ]);
    }, SLOW);
  }
});
