// plugins-examples/kubectl: Debian's kubectl behind a symbolic-link plugin.
// Needs `bun run examples` (after `bun run image`).
import { expect, test } from "bun:test";
import { describeImage } from "../image/engine.ts";
import { exampleTag, infoOf, lines, runExample, shellIn, SLOW } from "./lib.ts";

// Nothing listens on port 1 of the container's own loopback (--network=none):
// the connection is refused at once. --token: without credentials kubectl
// would first prompt for a user name.
const UNREACHABLE = ["--server=https://127.0.0.1:1", "--token=unused", "--request-timeout=5s", "get", "pods"];

describeImage("example kubectl (plugins-examples/kubectl)", () => {
  test("C-IMAGE-6: runner kubectl version --client prints the client version that tools.env declares", async () => {
    const [r, info] = await Promise.all([
      runExample("kubectl", ["kubectl", "version", "--client"], ["--network=none"]),
      infoOf(exampleTag("kubectl")),
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(lines(r.stdout)[0]).toStartWith(`Client Version: version.Info{Major:"1"`);
    expect(r.stdout).toContain(`GitVersion:"v${info.tools.TOOL_KUBECTL_VERSION}"`);
  }, SLOW);

  test("C-PLUGIN-3: the non-zero status of kubectl against an unreachable server passes through unchanged", async () => {
    const net = ["--network=none"];
    const [viaRunner, direct] = await Promise.all([
      runExample("kubectl", ["kubectl", ...UNREACHABLE], net),
      runExample("kubectl", UNREACHABLE, [...net, "--entrypoint", "/usr/bin/kubectl"]),
    ]);
    expect(direct.code).not.toBe(0);
    expect(direct.stderr).toContain("The connection to the server 127.0.0.1:1 was refused");
    // Same status and same message as kubectl started without runner.
    expect(viaRunner.code).toBe(direct.code);
    expect(viaRunner.stderr).toBe(direct.stderr);
    expect(viaRunner.stdout).toBe(direct.stdout);
  }, SLOW);

  test("C-PLUGIN-2: the plugin is a symbolic link whose final target and its folder are owned by root and not writable by others", async () => {
    const r = await shellIn("kubectl", "p=/usr/local/lib/runner.d/kubectl; readlink -f $p; stat -c '%U %a %F' $p; stat -L -c '%U %a %F' $p; stat -c '%U %a' \"$(dirname \"$(readlink -f $p)\")\"");
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual(["/usr/bin/kubectl", "root 777 symbolic link", "root 755 regular file", "root 755"]);
  }, SLOW);

  test("C-PLUGIN-4: through the link, kubectl gets its arguments unchanged (a bad flag is an error of kubectl, not of runner)", async () => {
    const r = await runExample("kubectl", ["kubectl", "--no-such-flag"], ["--network=none"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("unknown flag: --no-such-flag");
    expect(r.stderr).not.toContain("runner:");
  }, SLOW);
});
