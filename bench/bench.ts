// `bun run bench`: runner's start-up cost, side by side with the entrypoints
// people use today and with the Bun floor (issue 6; method and results in
// docs/PERFORMANCE.md).
//
// Everything runs in one private mount namespace, set up once, with the
// contract and a runner.d of 1,000 plugins bind-mounted like in an image
// (the same method as the binary tests: test/harness.ts), as the non-root
// uid 10001. Inside it, as that uid:
//   1. hyperfine (-N: no shell in between) times every command, in ROUNDS
//      rounds whose order alternates, so that a slow minute on a shared
//      machine does not land on one command only; medians are over all runs;
//   2. /usr/bin/time -f %M gives each command's peak RSS (ru_maxrss from
//      wait4: for runner, the larger of runner before execve and the plugin
//      after it; for tini, sh and dumb-init, the larger of them and their child);
//   3. strace lists the file system calls of one dispatch.
// CPU time is hyperfine's: the mean user + system time of the runs (wait4's
// rusage of each child).
//
// Options: --runner PATH   bench this binary instead of building dist/runner
//          --flag FLAG     one more `bun build` flag for the floors (e.g.
//                          --bytecode, to compare with a runner built with it)
//          --baseline PATH another runner binary (for example main's), timed
//                          side by side as "baseline: runner true"
//          --runs N, --rounds N, --out FILE (default .cache/bench/results.md,
//          outside the tracked files), --update (write bench/results.md, the
//          committed copy that docs/PERFORMANCE.md quotes)
import { chmodSync, copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release } from "node:os";
import { dirname, join } from "node:path";
import { build, HARDENING_FLAGS, ROOT } from "../scripts/build.ts";

// ------------------------------------------------------------------ options

function option(name: string): string[] {
  const values: string[] = [];
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) if (argv[i] === name && argv[i + 1] !== undefined) values.push(argv[++i]!);
  return values;
}
const RUNS = Number(option("--runs")[0] ?? 150);
const ROUNDS = Number(option("--rounds")[0] ?? 2);
const WARMUP = 10;
const RSS_RUNS = 15;
const PLUGIN_COUNT = 1000;
const UPDATE = process.argv.slice(2).includes("--update");
if (UPDATE && option("--out").length) {
  console.error("bench: --update writes bench/results.md; it cannot be combined with --out");
  process.exit(64);
}
const OUT = UPDATE ? join(ROOT, "bench", "results.md") : option("--out")[0] ?? join(ROOT, ".cache", "bench", "results.md");
const EXTRA_FLAGS = option("--flag");
const RUNNER_OVERRIDE = option("--runner")[0];
const BASELINE = option("--baseline")[0];
const VERSION: string = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;
const IMAGE = `localhost/runner-base:${VERSION}`;

const started = performance.now();
const say = (text: string) => console.error(`bench: ${text}`);
function fail(text: string): never {
  say(text);
  process.exit(1);
}

// ----------------------------------------------------------------- binaries

for (const tool of ["/usr/bin/hyperfine", "/usr/bin/tini", "/usr/bin/dumb-init"]) {
  if (!existsSync(tool)) fail(`${tool} is missing (apt-get install hyperfine tini dumb-init)`);
}
const HAVE_TIME = existsSync("/usr/bin/time");
const HAVE_STRACE = existsSync("/usr/bin/strace");

if (!RUNNER_OVERRIDE) {
  say("building dist/runner");
  build();
}
// The harness decides at import time whether it can run binaries (root,
// unshare -m, setpriv, dist/runner present): import it only after the build.
const h = await import("../test/harness.ts");
if (!h.PRIVILEGED) fail(`cannot run binaries here: ${h.UNPRIVILEGED_REASON}`);

const f = h.fixture();
const bin = (name: string) => join(f.root, name);

function bunBuild(source: string, outfile: string): void {
  const r = Bun.spawnSync([process.execPath, "build", ...HARDENING_FLAGS, ...EXTRA_FLAGS, source, "--outfile", outfile],
    { cwd: ROOT, stdout: "ignore", stderr: "inherit" });
  if (r.exitCode !== 0) fail(`bun build ${source} failed`);
  chmodSync(outfile, 0o755);
}
say(`building the Bun floors with ${[...HARDENING_FLAGS, ...EXTRA_FLAGS].join(" ")}`);
bunBuild(join(ROOT, "bench", "floor.ts"), bin("floor"));
bunBuild(join(ROOT, "bench", "floor-fs.ts"), bin("floor-fs"));
const runnerSource = RUNNER_OVERRIDE ?? h.DIST_RUNNER;
copyFileSync(runnerSource, bin("runner"));
chmodSync(bin("runner"), 0o755);
if (BASELINE) { copyFileSync(BASELINE, bin("baseline")); chmodSync(bin("baseline"), 0o755); }

// The plugin is /bin/true, root's, 0755; 999 more names for it fill runner.d.
const PLUGIN = "/usr/local/lib/runner.d/true";
copyFileSync("/bin/true", join(f.plugins, "true"));
chmodSync(join(f.plugins, "true"), 0o755);
for (let i = 1; i < PLUGIN_COUNT; i++) linkSync(join(f.plugins, "true"), join(f.plugins, `p${String(i).padStart(4, "0")}`));

// ---------------------------------------------------------------- commands

type Bench = { label: string; argv: string[]; note?: string };
const BENCHES: Bench[] = [
  { label: "direct execve of the plugin", argv: [PLUGIN] },
  { label: "sh -c 'exec plugin'", argv: ["/bin/sh", "-c", `exec ${PLUGIN}`] },
  { label: "tini -s -- plugin", argv: ["/usr/bin/tini", "-s", "--", PLUGIN] },
  { label: "dumb-init plugin", argv: ["/usr/bin/dumb-init", PLUGIN] },
  { label: "Bun floor plugin", argv: [bin("floor"), PLUGIN] },
  { label: "Bun floor + node:fs plugin", argv: [bin("floor-fs"), PLUGIN], note: "diagnostic" },
  { label: "runner true", argv: [bin("runner"), "true"] },
  // The cost of issue 11's work on dispatch (docs/PERFORMANCE.md): under
  // no_new_privs runner skips the file-capability check and its libc load;
  // with descriptors to pass it loads libc and execs through it. Each row
  // includes its wrapper's own exec (compare with the sh row).
  { label: "runner true (no_new_privs)", argv: ["/usr/bin/setpriv", "--no-new-privs", bin("runner"), "true"], note: "setpriv --no-new-privs in front" },
  { label: "runner true (3 descriptors passed)", argv: ["/bin/sh", "-c", `exec ${bin("runner")} true 3</etc/hostname 4</etc/hostname 5</etc/hostname`], note: "sh in front" },
  { label: "runner version", argv: [bin("runner"), "version"] },
  { label: "runner info --json", argv: [bin("runner"), "info", "--json"] },
  { label: `runner plugins (${PLUGIN_COUNT} entries)`, argv: [bin("runner"), "plugins"] },
  ...(BASELINE ? [{ label: "baseline: runner true", argv: [bin("baseline"), "true"], note: BASELINE }] : []),
];
const byLabel = (prefix: string) => BENCHES.findIndex((b) => b.label.startsWith(prefix));

const q = (s: string) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
const shellWords = (argv: string[]) => argv.map(q).join(" ");

/** Runs argv in the namespace as uid 10001; returns stdout, fails loudly. */
function inNamespace(argv: string[], what: string): string {
  const [binary, ...rest] = argv;
  const r = Bun.spawnSync(h.namespaceCommand(f, rest, {}, binary), { env: h.DEFAULT_ENV, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) fail(`${what} failed (exit ${r.exitCode}): ${r.stderr.toString().trim()}`);
  return r.stdout.toString();
}

// Every command must succeed before it is timed.
for (const b of BENCHES) inNamespace(b.argv, b.label);

// ----------------------------------------------------------------- 1. time

const loadBefore = loadavg();
const times: number[][] = BENCHES.map(() => []);
const cpu: number[][] = BENCHES.map(() => []);
for (let round = 0; round < ROUNDS; round++) {
  const order = BENCHES.map((_, i) => i);
  if (round % 2 === 1) order.reverse();
  say(`hyperfine round ${round + 1}/${ROUNDS}: ${BENCHES.length} commands x ${RUNS} runs`);
  const json = join(f.work, `hyperfine-${round}.json`);
  inNamespace(["/usr/bin/hyperfine", "-N", "--style", "none", "--warmup", String(WARMUP), "--runs", String(RUNS),
    "--export-json", json, ...order.map((i) => shellWords(BENCHES[i]!.argv))], "hyperfine");
  const results: Array<{ times: number[]; user: number; system: number }> = JSON.parse(readFileSync(json, "utf8")).results;
  results.forEach((r, k) => {
    const i = order[k]!;
    times[i]!.push(...r.times);
    cpu[i]!.push(r.user + r.system);
  });
}

// ------------------------------------------------------------ 2. peak RSS

const rss: number[][] = BENCHES.map(() => []);
if (HAVE_TIME) {
  say(`/usr/bin/time: ${RSS_RUNS} runs each`);
  const loop = BENCHES.map((b, i) => `/usr/bin/time -a -o rss-${i} -f %M ${shellWords(b.argv)} >/dev/null || exit 1`).join("\n");
  inNamespace(["/bin/sh", "-c", `rm -f rss-*\ni=0\nwhile [ $i -lt ${RSS_RUNS} ]; do\n${loop}\ni=$((i+1))\ndone`], "/usr/bin/time");
  BENCHES.forEach((_, i) => {
    rss[i] = readFileSync(join(f.work, `rss-${i}`), "utf8").split("\n").filter((l) => /^\d+$/.test(l)).map(Number);
  });
}
const loadAfter = loadavg();

// -------------------------------------------------------------- 3. strace

type Trace = { lines: string[]; getdents: number };
/** The file system calls of one run, up to the plugin's execve (the rest is /bin/true's). */
function trace(argv: string[]): Trace | null {
  if (!HAVE_STRACE) return null;
  const out = join(f.work, "strace.txt");
  inNamespace(["/usr/bin/strace", "-f", "-qq", "-e", "trace=file,getdents64", "-o", out, ...argv], "strace");
  const all = readFileSync(out, "utf8").split("\n").filter((l) => l !== "").map((l) => l.replace(/^\d+\s+/, ""));
  const exec = all.findIndex((l) => l.startsWith(`execve("${PLUGIN}"`));
  const lines = exec === -1 ? all : all.slice(0, exec + 1);
  return { lines, getdents: lines.filter((l) => l.startsWith("getdents64")).length };
}
// A call and its path: what identifies "the same access" in two traces.
const key = (l: string) => l.replace(/^(\w+)\((?:AT_FDCWD, |\d+, )?("[^"]*")?.*$/, "$1 $2");
const floorTrace = trace(BENCHES[byLabel("Bun floor plugin")]!.argv);
const runnerTrace = trace(BENCHES[byLabel("runner true")]!.argv);
const listTrace = trace(BENCHES[byLabel("runner plugins")]!.argv);

// --------------------------------------------------------------- report

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const stddev = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));
const ms = (s: number) => (s * 1000).toFixed(2);
const mib = (kib: number) => (Number.isNaN(kib) ? "n/a" : (kib / 1024).toFixed(1));
const MiB = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

const wall = times.map(median);
const rssMedian = rss.map(median);
const iFloor = byLabel("Bun floor plugin");
const iSh = byLabel("sh -c");
const iTrue = byLabel("runner true");
const iVersion = byLabel("runner version");
const iPlugins = byLabel("runner plugins");

function imageSize(): string {
  const r = Bun.spawnSync(["podman", "image", "inspect", "--format", "{{.Size}}", IMAGE],
    { env: { ...process.env, CONTAINERS_CONF: join(ROOT, "scripts", "containers.conf") }, stdout: "pipe", stderr: "pipe" });
  const size = Number(r.stdout.toString().trim());
  return r.exitCode === 0 && size > 0 ? `${MiB(size)} (${size} bytes)` : "not built";
}
const cpuModel = readFileSync("/proc/cpuinfo", "utf8").match(/^model name\s*:\s*(.*)$/m)?.[1] ?? "unknown";
const versionOf = (argv: string[]) => {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  return (r.stdout.toString() + r.stderr.toString()).trim().split("\n")[0];
};

const rows = BENCHES.map((b, i) => {
  const t = times[i]!;
  return `| ${b.label}${b.note ? ` (${b.note})` : ""} | ${ms(wall[i]!)} | ${ms(mean(t))} ± ${ms(stddev(t))} | ${ms(mean(cpu[i]!))} | ${mib(rssMedian[i]!)} | ${(wall[i]! / wall[iFloor]!).toFixed(2)} |`;
});

const check = (ok: boolean) => (ok ? "**holds**" : "**misses**");
const wallRatio = wall[iTrue]! / wall[iFloor]!;
const rssDelta = (rssMedian[iTrue]! - rssMedian[iFloor]!) / 1024;
const listRatio = wall[iPlugins]! / wall[iVersion]!;
const targets = [
  `| \`runner true\` wall ≤ 1.10 × floor | ${wallRatio.toFixed(2)} × floor (${ms(wall[iTrue]!)} ms vs ${ms(wall[iFloor]!)} ms) | ${check(wallRatio <= 1.1)}${wallRatio > 1.1 ? `: over by ${ms(wall[iTrue]! - 1.1 * wall[iFloor]!)} ms` : ""} |`,
  HAVE_TIME
    ? `| peak RSS ≤ floor + 2 MiB | floor ${rssDelta >= 0 ? "+" : "−"} ${Math.abs(rssDelta).toFixed(1)} MiB | ${check(rssDelta <= 2)} |`
    : "| peak RSS ≤ floor + 2 MiB | n/a: /usr/bin/time is missing (apt-get install time) | not measured |",
  `| \`runner plugins\` (${PLUGIN_COUNT}) ≤ 2 × \`runner version\` | ${listRatio.toFixed(2)} × (${ms(wall[iPlugins]!)} ms vs ${ms(wall[iVersion]!)} ms) | ${check(listRatio <= 2)} |`,
  runnerTrace
    ? `| dispatch lists no directory | ${runnerTrace.getdents} getdents64 calls in \`runner true\` (\`runner plugins\`: ${listTrace?.getdents}) | ${check(runnerTrace.getdents === 0)} |`
    : "| dispatch lists no directory | n/a: strace is missing | not measured |",
];

let straceSection = "strace is missing: no trace.\n";
if (floorTrace && runnerTrace) {
  const floorKeys = new Set(floorTrace.lines.map(key));
  const own = runnerTrace.lines.filter((l) => !floorKeys.has(key(l)) || l.includes("runner.d") || l.includes("/etc/runner"));
  straceSection = [
    `\`strace -f -e trace=file,getdents64\`, up to and including the plugin's execve: the Bun floor makes`,
    `${floorTrace.lines.length} such calls (the runtime's own start-up), \`runner true\` ${runnerTrace.lines.length}.`,
    "The calls of `runner true` that the floor does not make, in order:",
    "",
    "```",
    ...own.map((l) => (l.length > 160 ? `${l.slice(0, 157)}...` : l)),
    "```",
  ].join("\n") + "\n";
}

const seconds = ((performance.now() - started) / 1000).toFixed(0);
const report = `# runner start-up benchmark

Generated by \`bun run bench\` (bench/bench.ts) on ${new Date().toISOString()}; took ${seconds} s.

## Machine

- CPU: ${cpuModel}, ${cpus().length} cores (nproc)
- kernel ${release()}, Debian ${readFileSync("/etc/debian_version", "utf8").trim()}
- bun ${Bun.version}; ${versionOf(["/usr/bin/hyperfine", "--version"])}; ${versionOf(["/usr/bin/tini", "--version"])}; dumb-init ${versionOf(["/usr/bin/dumb-init", "--version"])}
- load average (1, 5, 15 min): ${loadBefore.map((l) => l.toFixed(2)).join(", ")} before, ${loadAfter.map((l) => l.toFixed(2)).join(", ")} after${
  Math.max(loadBefore[0]!, loadAfter[0]!) > 1 ? "\n- **the machine was busy** (1-minute load above 1): other work shared the cores, so the numbers are noisy; re-run when it is quiet" : ""}

## Method

One mount namespace, set up once: contract on /etc/runner, a runner.d of ${PLUGIN_COUNT} root-owned entries
(\`true\`, a copy of /bin/true, and ${PLUGIN_COUNT - 1} hard links to it) on /usr/local/lib/runner.d; everything
below runs in it as uid 10001. Wall time: hyperfine -N, ${ROUNDS} rounds × ${RUNS} runs (+${WARMUP} warm-up)
per command, alternating the order; median and mean ± σ over all ${ROUNDS * RUNS} runs. CPU: hyperfine's mean
user + system time. Peak RSS: median of ${RSS_RUNS} runs of \`/usr/bin/time -f %M\` (ru_maxrss, across the execve).
runner: ${RUNNER_OVERRIDE ? `\`${RUNNER_OVERRIDE}\`` : "dist/runner, built by `bun run build`"}. Floors built with
\`${[...HARDENING_FLAGS, ...EXTRA_FLAGS].join(" ")}\`.

## Results

| command | wall median (ms) | wall mean ± σ (ms) | CPU mean (ms) | peak RSS (MiB) | wall / floor |
|---|---:|---:|---:|---:|---:|
${rows.join("\n")}

- runner true / Bun floor: **${wallRatio.toFixed(2)}**; runner true / sh -c 'exec plugin': **${(wall[iTrue]! / wall[iSh]!).toFixed(2)}**
- size of dist/runner: ${MiB(statSync(runnerSource).size)} (${statSync(runnerSource).size} bytes); Bun floor: ${MiB(statSync(bin("floor")).size)}
- ${IMAGE}: ${imageSize()}

## Targets

| target | measured | |
|---|---|---|
${targets.join("\n")}

## Files touched by one dispatch (\`runner true\`)

${straceSection}`;

mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, report);
console.log(report);
say(`wrote ${OUT}`);
rmSync(dirname(f.root), { recursive: true, force: true });
