// Lean layers (C-IMAGE-9): no image of the project stores a file twice, and
// runner-base weighs its base plus the runner binary plus at most 2 MiB.
// Read from the layers themselves (scripts/layers.ts: `ENGINE save`, every
// layer tar walked, every regular file hashed). Needs `bun run image`
// (and `bun run bases` for the Bun base, `bun run examples` for the examples).
import { expect, setDefaultTimeout, test } from "bun:test";
import { duplicates, readLayers, type Layer } from "../../scripts/layers.ts";
import { LOCAL_BASE_IMAGE, LOCAL_BUN_IMAGE } from "../../scripts/image.ts";
import { EXAMPLES, exampleTag } from "../../scripts/examples.ts";
import { BASE_TAG, ENGINE, SDK_TAG, describeImage, inspectImage, requireImage } from "./engine.ts";

setDefaultTimeout(300_000);

const MiB = 1024 * 1024;
const layersOf = (image: string): Layer[] => readLayers(image, ENGINE!, false);

/** The image runner-base was built FROM (its base.name label). */
async function baseOf(image: string): Promise<string> {
  return (await inspectImage(image)).Config.Labels["org.opencontainers.image.base.name"];
}

/** Duplicates in the layers above the Debian base (the project's layers), as readable lines. */
async function projectDuplicates(image: string, below: string): Promise<string[]> {
  const base = layersOf(below).length;
  return duplicates(layersOf(image), base).map((d) => `${d.path} (${d.size} bytes) in layer ${d.layer} again, as in layer ${d.earlier}`);
}

describeImage("lean layers", () => {
  test("C-IMAGE-9: runner-base stores no file twice in its own layers", async () => {
    await requireImage(BASE_TAG);
    expect(await projectDuplicates(BASE_TAG, await baseOf(BASE_TAG))).toEqual([]);
  });

  test("C-IMAGE-9: runner-sdk stores no file twice in its own layers", async () => {
    await requireImage(SDK_TAG);
    expect(await projectDuplicates(SDK_TAG, await baseOf(BASE_TAG))).toEqual([]);
  });

  test("C-IMAGE-9: the Bun build image of `bun run bases` stores bun once", async () => {
    await requireImage(LOCAL_BUN_IMAGE, "bun run bases");
    expect(await projectDuplicates(LOCAL_BUN_IMAGE, LOCAL_BASE_IMAGE)).toEqual([]);
  });

  for (const name of EXAMPLES) {
    test(`C-IMAGE-9: the example image ${name} stores no file twice above Debian (its layers and runner-base's)`, async () => {
      await requireImage(exampleTag(name), "bun run examples");
      expect(await projectDuplicates(exampleTag(name), await baseOf(BASE_TAG))).toEqual([]);
    });
  }

  test("C-IMAGE-9: runner-base unpacked <= its base image + the runner binary + 2 MiB", async () => {
    await requireImage(BASE_TAG);
    const base = layersOf(await baseOf(BASE_TAG));
    const image = layersOf(BASE_TAG);
    const sum = (ls: Layer[]) => ls.reduce((n, l) => n + l.bytes, 0);
    const runner = image.flatMap((l) => l.entries).find((e) => e.path === "/usr/local/bin/runner" && e.type === "file");
    expect(runner).toBeDefined();
    const budget = sum(base) + runner!.size + 2 * MiB;
    console.error(`runner-base: ${sum(image)} bytes unpacked; base ${sum(base)}, runner ${runner!.size}, budget ${budget} (${((budget - sum(image)) / MiB).toFixed(2)} MiB to spare)`);
    expect(sum(image)).toBeLessThanOrEqual(budget);
    // The test can fail: the image before this rule (runner stored twice) is over budget.
    expect(sum(image) + runner!.size).toBeGreaterThan(budget);
  });
});
