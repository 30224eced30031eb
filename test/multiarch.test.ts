// RUNNER_PLATFORMS and the multi-platform helpers (C-MULTIARCH-1), as pure
// functions; the images themselves are tested in test/image/arm64.test.ts.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { decode, enable, encode, registered, restore } from "../scripts/binfmt.ts";
import { crossFlags, TARGETS } from "../scripts/cross.ts";
import { archTag, parsePlatforms, PlatformError } from "../scripts/multiarch.ts";

describe("RUNNER_PLATFORMS", () => {
  test("C-MULTIARCH-1: unset or empty means the build machine's platform only, as plain images", () => {
    expect(parsePlatforms(undefined, "amd64")).toEqual({ arches: ["amd64"], multi: false });
    expect(parsePlatforms("", "amd64")).toEqual({ arches: ["amd64"], multi: false });
    expect(parsePlatforms("linux/amd64", "amd64")).toEqual({ arches: ["amd64"], multi: false });
  });

  test("C-MULTIARCH-1: two platforms, or another one, is a multi-platform build, the build machine's first", () => {
    expect(parsePlatforms("linux/arm64,linux/amd64", "amd64")).toEqual({ arches: ["amd64", "arm64"], multi: true });
    expect(parsePlatforms("linux/amd64, linux/arm64,linux/arm64", "amd64")).toEqual({ arches: ["amd64", "arm64"], multi: true });
    expect(parsePlatforms("linux/arm64", "amd64")).toEqual({ arches: ["arm64"], multi: true });
    expect(parsePlatforms("linux/arm64", "arm64")).toEqual({ arches: ["arm64"], multi: false });
  });

  test("C-MULTIARCH-1: an unsupported platform is an error naming it", () => {
    for (const bad of ["linux/riscv64", "arm64", "linux/arm64/v8", "windows/amd64"]) {
      expect(() => parsePlatforms(bad, "amd64")).toThrow(PlatformError);
      expect(() => parsePlatforms(bad, "amd64")).toThrow(`'${bad}'`);
    }
  });

  test("C-MULTIARCH-1: per-platform tags append the architecture to the tag", () => {
    expect(archTag("localhost/runner-base:1.2.3", "arm64")).toBe("localhost/runner-base:1.2.3-arm64");
    expect(archTag("localhost/runner-bases/debian:bookworm-slim", "amd64")).toBe("localhost/runner-bases/debian:bookworm-slim-amd64");
  });

  test("C-MULTIARCH-1: cross-compiling names Bun's target and the npm package's runtime", () => {
    expect(crossFlags("arm64", "/c/bun-linux-aarch64")).toEqual(["--target=bun-linux-arm64", "--compile-executable-path=/c/bun-linux-aarch64/bin/bun"]);
    expect(TARGETS.amd64).toEqual({ bun: "bun-linux-x64", npm: "bun-linux-x64" });
    expect(() => crossFlags("riscv64", "/c")).toThrow("unsupported architecture");
  });

  test("C-MULTIARCH-1: the binfmt change token round-trips and carries nothing else", () => {
    for (const c of [{ mounted: false, enabled: [] }, { mounted: true, enabled: ["qemu-aarch64"] }, { mounted: false, enabled: ["qemu-aarch64"] }]) {
      expect(decode(encode(c))).toEqual(c);
    }
    expect(decode("mounted,qemu-aarch64,rm -rf /,")).toEqual({ mounted: true, enabled: ["qemu-aarch64"] });
  });
});

// The real kernel setting: turned on for arm64, then back to what it was.
const state = () => {
  const mounted = existsSync("/proc/sys/fs/binfmt_misc/status");
  const entry = "/proc/sys/fs/binfmt_misc/qemu-aarch64";
  return { mounted, aarch64: mounted && existsSync(entry) ? readFileSync(entry, "utf8").split("\n")[0] : "absent" };
};
const why = process.getuid?.() !== 0 ? "not root" : !Bun.which("update-binfmts") ? "binfmt-support is not installed" : process.arch !== "x64" ? "the build machine is not amd64" : null;
if (why) console.warn(`\n!!! SKIPPED binfmt registration test: ${why}.\n`);
describe.skipIf(why !== null)("binfmt_misc registration (scripts/binfmt.ts)", () => {
  test("C-MULTIARCH-1: enable makes arm64 binaries runnable; restore leaves binfmt_misc exactly as it was found", () => {
    const before = state();
    const change = enable("arm64");
    try {
      expect(registered("arm64")).toBe(true);
      expect(state().aarch64).toBe("enabled");
    } finally {
      restore(change);
    }
    expect(state()).toEqual(before);
    // Nothing to do when it is registered already: an empty change.
    const again = enable("arm64");
    try {
      expect(enable("arm64")).toEqual({ mounted: false, enabled: [] });
    } finally {
      restore(again);
    }
    expect(state()).toEqual(before);
  });
});
