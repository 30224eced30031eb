// `bun run bench`: runner's start-up cost, side by side with the entrypoints
// people use today and with the Bun floor (issues 6 and 12; method and results
// in docs/PERFORMANCE.md).
//
// Why the method is what it is: two byte-identical copies of one 105 MB Bun
// executable differ by up to ±10 % in wall time and by several MiB in peak
// RSS, depending on where their pages sit and how they entered the page
// cache (issue 12). A one-copy comparison cannot judge a 10 % target. So:
//   - every binary compared is copied, COPIES times, into one fresh tmpfs
//     (same write history, every page resident) under same-length names
//     (c0/fl, c0/rn, …: argv and paths of equal length);
//   - wall time comes in blocks: bench/pairs.pl runs every command of one
//     copy once per turn (fork to wait, like hyperfine -N), RUNS turns, the
//     order rotated every turn, so that each command's runs sit milliseconds
//     from the others' (hyperfine runs one command's runs back to back: a
//     busy second on a shared machine then lands on one command only);
//     ROUNDS rounds over all copies;
//   - each ratio to the floor is taken within a block (runner copy c against
//     floor copy c, seconds apart) and reported as the median over the
//     COPIES × ROUNDS blocks, with its min–max: the spread is the honesty;
//   - peak RSS: /usr/bin/time -f %M, interleaved over copies and commands;
//     the difference to the floor is taken per copy, reported as the median
//     and min–max over copies;
//   - listing cost: `runner plugins` with runner.d holding 10, 100, 1,000 and
//     10,000 entries, a least-squares line through the block medians (µs per
//     entry) and the slope of each segment (a quadratic step would make the
//     last segment's slope grow).
// Everything runs in private mount namespaces (test/harness.ts) with the
// contract on /etc/runner and runner.d bind-mounted like in an image, as the
// non-root uid 10001. strace lists the file calls of one dispatch.
//
// Options: --runner PATH   bench this binary instead of building dist/runner
//          --flag FLAG     one more `bun build` flag for runner AND the floors
//                          (repeatable), to measure a build flag side by side
//          --copies N (4), --rounds N (3), --runs N (30), --warmup N (3),
//          --rss-runs N (5 per copy), --sizes 10,100,1000,10000,
//          --list-runs N (10), --list-rounds N (2)
//          --variant 'LABEL=FLAG …'  also bench runner and the floor built
//                          with these extra flags, in the same blocks (rows
//                          "… [LABEL]"; ratios against the plain floor):
//                          how build flags are judged (repeatable, at most 9)
//          --also LABEL=PATH  also bench this runner binary in the same blocks
//                          (rows "… {LABEL}"; built however you like)
//          --baseline PATH the same as --also baseline=PATH (e.g. main's runner)
//          --out FILE      default .cache/bench/results.md (+ .json beside it)
//          --update        also write bench/results.md (the tracked copy)
import { chmodSync, copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release } from "node:os";
import { dirname, join } from "node:path";
import { BUILD_FLAGS, build, ROOT } from "../scripts/build.ts";

// ------------------------------------------------------------------ options

const argv = process.argv.slice(2);
function option(name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < argv.length; i++) if (argv[i] === name && argv[i + 1] !== undefined) values.push(argv[++i]!);
  return values;
}
function count(name: string, fallback: number, min = 1): number {
  const raw = option(name)[0];
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < min) fail(`${name} wants an integer ≥ ${min}, not '${raw}'`);
  return n;
}
const say = (text: string) => console.error(`bench: ${text}`);
let cleanup = () => {};
function fail(text: string): never {
  say(text);
  cleanup();
  process.exit(1);
}

const COPIES = count("--copies", 4);
const ROUNDS = count("--rounds", 3);
const RUNS = count("--runs", 30, 2);
const WARMUP = count("--warmup", 3, 0);
const RSS_RUNS = count("--rss-runs", 5);
const LIST_RUNS = count("--list-runs", 10, 2);
const LIST_ROUNDS = count("--list-rounds", 2);
const SIZES = (option("--sizes")[0] ?? "10,100,1000,10000").split(",").map(Number);
if (SIZES.length < 2 || SIZES.some((n) => !Number.isInteger(n) || n < 1)) fail("--sizes wants two or more entry counts, e.g. 10,100,1000");
if (COPIES > 10) fail("--copies: at most 10 (copy folders c0..c9 keep every path the same length)");
const UPDATE = argv.includes("--update");
const OUT = option("--out")[0] ?? join(ROOT, ".cache", "bench", "results.md");
const EXTRA_FLAGS = option("--flag");
const RUNNER_OVERRIDE = option("--runner")[0];
const VARIANTS = option("--variant").map((v) => {
  const eq = v.indexOf("=");
  if (eq < 1) fail(`--variant wants LABEL=FLAGS, not '${v}'`);
  return { label: v.slice(0, eq), flags: v.slice(eq + 1).split(" ").filter((w) => w !== "") };
});
if (VARIANTS.length > 9) fail("--variant: at most 9");
const ALSO = [...option("--also"), ...option("--baseline").map((b) => `baseline=${b}`)].map((v) => {
  const eq = v.indexOf("=");
  if (eq < 1 || !existsSync(v.slice(eq + 1))) fail(`--also wants LABEL=PATH of a runner binary, not '${v}'`);
  return { label: v.slice(0, eq), path: v.slice(eq + 1) };
});
if (ALSO.length > 9) fail("--also: at most 9");
const VERSION: string = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;
const IMAGE = `localhost/runner-base:${VERSION}`;
const FLAGS = [...BUILD_FLAGS, ...EXTRA_FLAGS];
const started = performance.now();

// ----------------------------------------------------------------- binaries

for (const tool of ["/usr/bin/perl", "/usr/bin/tini", "/usr/bin/dumb-init", "/bin/mount", "/bin/umount"]) {
  if (!existsSync(tool)) fail(`${tool} is missing (apt-get install perl tini dumb-init mount)`);
}
if (Bun.spawnSync(["/usr/bin/perl", "-MTime::HiRes", "-e", "1"]).exitCode !== 0) fail("perl lacks Time::HiRes (apt-get install perl)");
const HAVE_TIME = existsSync("/usr/bin/time");
const HAVE_STRACE = existsSync("/usr/bin/strace");

if (!RUNNER_OVERRIDE) {
  say(`building dist/runner${EXTRA_FLAGS.length ? ` with ${EXTRA_FLAGS.join(" ")}` : ""}`);
  try { build(undefined, EXTRA_FLAGS); } catch (e) { fail(`build: ${(e as Error).message}`); }
}
// The harness decides at import time whether it can run binaries (root,
// unshare -m, setpriv, dist/runner present): import it only after the build.
const h = await import("../test/harness.ts");
if (!h.PRIVILEGED) fail(`cannot run binaries here: ${h.UNPRIVILEGED_REASON}`);

const f = h.fixture();
const scratch = dirname(f.root); // the harness's root-owned 0755 folder
const TMPFS = join(scratch, "t");
mkdirSync(TMPFS, { mode: 0o755 });
let mounted = false;
cleanup = () => {
  if (mounted) Bun.spawnSync(["/bin/umount", TMPFS]);
  mounted = false;
  rmSync(scratch, { recursive: true, force: true });
};
process.on("SIGINT", () => fail("interrupted"));
process.on("exit", () => cleanup()); // also after an uncaught error: never leave the tmpfs mounted
// Room for every copy: 6 binaries and 2 per variant or --also, about 110 MB each.
const tmpfsMiB = Math.ceil(COPIES * (6 + 2 * (VARIANTS.length + option("--also").length + option("--baseline").length)) * 115 + 256);
const mnt = Bun.spawnSync(["/bin/mount", "-t", "tmpfs", "-o", `mode=0755,size=${tmpfsMiB}m`, "tmpfs", TMPFS], { stderr: "pipe" });
if (mnt.exitCode !== 0) fail(`cannot mount a tmpfs on ${TMPFS}: ${mnt.stderr.toString().trim()}`);
mounted = true;

function bunBuild(source: string, outfile: string, more: readonly string[] = []): void {
  const r = Bun.spawnSync([process.execPath, "build", ...FLAGS, ...more, source, "--outfile", outfile],
    { cwd: ROOT, stdout: "ignore", stderr: "inherit" });
  if (r.exitCode !== 0) fail(`bun build ${source} failed`);
  chmodSync(outfile, 0o755);
}
say(`building the Bun floors with ${FLAGS.join(" ")}`);
const built = join(scratch, "built");
mkdirSync(built, { mode: 0o755 });
bunBuild(join(ROOT, "bench", "floor.ts"), join(built, "floor"));
bunBuild(join(ROOT, "bench", "floor-fs.ts"), join(built, "floor-fs"));
VARIANTS.forEach((v, k) => {
  say(`variant ${v.label}: runner and floor with ${v.flags.join(" ")} as well`);
  bunBuild(join(ROOT, "bench", "floor.ts"), join(built, `floor-${k + 1}`), v.flags);
  try { build(join(built, `runner-${k + 1}`), [...EXTRA_FLAGS, ...v.flags]); } catch (e) { fail(`build: ${(e as Error).message}`); }
});
const runnerSource = RUNNER_OVERRIDE ?? h.DIST_RUNNER;

// Same-length names, one folder per copy: cK/rn is runner, cK/fl the floor, …
const SOURCES: Record<string, string> = {
  rn: runnerSource, fl: join(built, "floor"), ff: join(built, "floor-fs"),
  sh: "/bin/sh", ti: "/usr/bin/tini", di: "/usr/bin/dumb-init",
};
ALSO.forEach((a, k) => { SOURCES[`a${k + 1}`] = a.path; });
VARIANTS.forEach((_, k) => {
  SOURCES[`f${k + 1}`] = join(built, `floor-${k + 1}`);
  SOURCES[`r${k + 1}`] = join(built, `runner-${k + 1}`);
});
say(`copying ${Object.keys(SOURCES).length} binaries × ${COPIES} copies to a fresh tmpfs`);
const PAIRS = join(TMPFS, "pairs.pl"); // where uid 10001 can read it
copyFileSync(join(ROOT, "bench", "pairs.pl"), PAIRS);
const copy = (c: number, name: string) => join(TMPFS, `c${c}`, name);
for (let c = 0; c < COPIES; c++) {
  mkdirSync(join(TMPFS, `c${c}`), { mode: 0o755 });
  for (const [name, source] of Object.entries(SOURCES)) {
    copyFileSync(source, copy(c, name));
    chmodSync(copy(c, name), 0o755);
  }
}

// The plugin is /bin/true, root's, 0755, in runner.d: `true` and hard links to it.
const PLUGIN = "/usr/local/lib/runner.d/true";
const PLUGIN_COUNT = 1000;
function fillPlugins(dir: string, n: number): void {
  copyFileSync("/bin/true", join(dir, "true"));
  chmodSync(join(dir, "true"), 0o755);
  const width = String(n).length;
  for (let i = 1; i < n; i++) linkSync(join(dir, "true"), join(dir, `p${String(i).padStart(width, "0")}`));
}
fillPlugins(f.plugins, PLUGIN_COUNT);

// ---------------------------------------------------------------- commands

type Bench = { label: string; argv: (c: number) => string[]; note?: string };
const BENCHES: Bench[] = [
  { label: "direct execve of the plugin", argv: () => [PLUGIN] },
  { label: "sh -c 'exec plugin'", argv: (c) => [copy(c, "sh"), "-c", `exec ${PLUGIN}`] },
  { label: "tini -s -- plugin", argv: (c) => [copy(c, "ti"), "-s", "--", PLUGIN] },
  { label: "dumb-init plugin", argv: (c) => [copy(c, "di"), PLUGIN] },
  { label: "Bun floor plugin", argv: (c) => [copy(c, "fl"), PLUGIN] },
  { label: "Bun floor + node:fs plugin", argv: (c) => [copy(c, "ff"), PLUGIN], note: "diagnostic" },
  { label: "runner true", argv: (c) => [copy(c, "rn"), "true"] },
  // With descriptors to pass on, runner loads libc (bun:ffi) and execs through
  // it (C-PLUGIN-11): the price of that path, sh's exec included (compare the sh row).
  { label: "runner true (3 descriptors passed)", argv: (c) => [copy(c, "sh"), "-c", `exec ${copy(c, "rn")} true 3</etc/hostname 4</etc/hostname 5</etc/hostname`], note: "sh in front" },
  { label: "runner version", argv: (c) => [copy(c, "rn"), "version"] },
  { label: "runner info --json", argv: (c) => [copy(c, "rn"), "info", "--json"] },
  { label: `runner plugins (${PLUGIN_COUNT} entries)`, argv: (c) => [copy(c, "rn"), "plugins"] },
  ...ALSO.flatMap((a, k): Bench[] => [
    { label: `runner true {${a.label}}`, argv: (c) => [copy(c, `a${k + 1}`), "true"] },
    { label: `runner version {${a.label}}`, argv: (c) => [copy(c, `a${k + 1}`), "version"] },
    { label: `runner info --json {${a.label}}`, argv: (c) => [copy(c, `a${k + 1}`), "info", "--json"] },
  ]),
  ...VARIANTS.flatMap((v, k): Bench[] => [
    { label: `Bun floor plugin [${v.label}]`, argv: (c) => [copy(c, `f${k + 1}`), PLUGIN] },
    { label: `runner true [${v.label}]`, argv: (c) => [copy(c, `r${k + 1}`), "true"] },
    { label: `runner info --json [${v.label}]`, argv: (c) => [copy(c, `r${k + 1}`), "info", "--json"] },
  ]),
];
const byLabel = (prefix: string) => BENCHES.findIndex((b) => b.label.startsWith(prefix));
const iFloor = byLabel("Bun floor plugin");
const iSh = byLabel("sh -c");
const iTrue = byLabel("runner true");
const iVersion = byLabel("runner version");
const iInfo = byLabel("runner info");
const iPlugins = byLabel("runner plugins");

const q = (s: string) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
const shellWords = (words: string[]) => words.map(q).join(" ");

/** Runs argv in a namespace of fixture fx as uid 10001; returns stdout, fails loudly. */
function inNamespace(fx: typeof f, words: string[], what: string): string {
  const [binary, ...rest] = words;
  const r = Bun.spawnSync(h.namespaceCommand(fx, rest, {}, binary), { env: h.DEFAULT_ENV, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) fail(`${what} failed (exit ${r.exitCode}): ${r.stderr.toString().trim()}`);
  return r.stdout.toString();
}

// Every command of every copy must succeed before it is timed (and so has run once).
for (let c = 0; c < COPIES; c++) for (const b of BENCHES) inNamespace(f, b.argv(c), `${b.label} (copy ${c})`);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
type Block = { medians: number[]; cpu: number[]; rss: number[] };
/**
 * One block: bench/pairs.pl runs every command once per turn, `turns` turns,
 * in a rotating order. Per command: the median wall time (s), the median CPU
 * time (s, user + system from wait4) and the median peak RSS (KiB, wait4) of its runs.
 */
function block(fx: typeof f, commands: string[][], turns: number, warmup: number, tag: string): Block {
  const list = join(fx.work, `commands-${tag}`);
  const out = join(fx.work, `times-${tag}`);
  writeFileSync(list, commands.map((words) => words.join("\t")).join("\n") + "\n");
  inNamespace(fx, ["/usr/bin/perl", PAIRS, list, out, String(turns), String(warmup)], "bench/pairs.pl");
  const wallNs: number[][] = commands.map(() => []);
  const cpuUs: number[][] = commands.map(() => []);
  const rssKiB: number[][] = commands.map(() => []);
  for (const line of readFileSync(out, "utf8").split("\n")) {
    if (line === "") continue;
    const [i, , ns, us, kib] = line.split("\t").map(Number);
    wallNs[i!]!.push(ns!);
    cpuUs[i!]!.push(us!);
    rssKiB[i!]!.push(kib!);
  }
  return { medians: wallNs.map((t) => median(t) / 1e9), cpu: cpuUs.map((c) => median(c) / 1e6), rss: rssKiB.map(median) };
}

// ----------------------------------------------------------------- 1. time

const loadBefore = loadavg();
const blockMedian: number[][] = BENCHES.map(() => []); // [command][block]
const blockCpu: number[][] = BENCHES.map(() => []);
const blockRss: number[][] = BENCHES.map(() => []); // KiB, wait4 of the timed runs
for (let round = 0, b = 0; round < ROUNDS; round++) {
  say(`wall time, round ${round + 1}/${ROUNDS}: ${COPIES} copies × ${BENCHES.length} commands × ${RUNS} turns`);
  for (let c = 0; c < COPIES; c++, b++) {
    // Each block starts the rotation elsewhere, so no command always follows the same one.
    const order = BENCHES.map((_, k) => (k + b) % BENCHES.length);
    const r = block(f, order.map((i) => BENCHES[i]!.argv(c)), RUNS, WARMUP, `${b}`);
    order.forEach((i, k) => {
      blockMedian[i]!.push(r.medians[k]!);
      blockCpu[i]!.push(r.cpu[k]!);
      blockRss[i]!.push(r.rss[k]!);
    });
  }
}

// The driver's own cost. pairs.pl forks a Perl process for every run, which
// costs more than hyperfine -N's spawn; the same amount lands on every row
// and so pulls every ratio towards 1. hyperfine, where present, times the
// direct execve in alternation with pairs.pl, and the difference is taken
// off both sides of each ratio ("corrected": what hyperfine -N would show).
let driverExtra = 0; // s
const HAVE_HYPERFINE = existsSync("/usr/bin/hyperfine");
if (HAVE_HYPERFINE) {
  const viaPairs: number[] = [];
  const viaHyperfine: number[] = [];
  for (let k = 0; k < 3; k++) {
    viaPairs.push(block(f, [[PLUGIN]], 50, 3, `cal-${k}`).medians[0]!);
    const json = join(f.work, `cal-${k}.json`);
    inNamespace(f, ["/usr/bin/hyperfine", "-N", "--style", "none", "--warmup", "3", "--runs", "50", "--export-json", json, PLUGIN], "hyperfine");
    viaHyperfine.push(JSON.parse(readFileSync(json, "utf8")).results[0].median);
  }
  driverExtra = Math.max(0, median(viaPairs) - median(viaHyperfine));
}

// ------------------------------------------------------------ 2. peak RSS

const rssByCopy: number[][][] = BENCHES.map(() => Array.from({ length: COPIES }, () => [])); // KiB [command][copy][run]
if (HAVE_TIME) {
  say(`peak RSS: /usr/bin/time, ${RSS_RUNS} runs × ${COPIES} copies × ${BENCHES.length} commands, interleaved`);
  const lines: string[] = [];
  for (let c = 0; c < COPIES; c++) {
    // time's report goes to its stderr, appended to the file by the shell: with
    // -o, time would hold that file open, runner would inherit a descriptor
    // above 2 and take its pass-through path (bun:ffi), which costs 2.7 MiB.
    BENCHES.forEach((b, i) => lines.push(`/usr/bin/time -f %M ${shellWords(b.argv(c))} >/dev/null 2>>rss-${i}-${c} || exit 1`));
  }
  inNamespace(f, ["/bin/sh", "-c", `rm -f rss-*\ni=0\nwhile [ $i -lt ${RSS_RUNS} ]; do\n${lines.join("\n")}\ni=$((i+1))\ndone`], "/usr/bin/time");
  BENCHES.forEach((_, i) => {
    for (let c = 0; c < COPIES; c++) {
      rssByCopy[i]![c] = readFileSync(join(f.work, `rss-${i}-${c}`), "utf8").split("\n").filter((l) => /^\d+$/.test(l)).map(Number);
    }
  });
}

// ----------------------------------------------------- 3. listing cost per entry

say(`listing: runner.d of ${SIZES.join(", ")} entries, ${LIST_ROUNDS} rounds × ${LIST_RUNS} runs`);
const listFixtures = SIZES.map((n) => {
  const fx = h.fixture();
  fillPlugins(fx.plugins, n);
  inNamespace(fx, [copy(0, "rn"), "plugins"], `runner plugins (${n} entries)`);
  return fx;
});
const listMedians: number[][] = SIZES.map(() => []); // [size][round], seconds
for (let round = 0; round < LIST_ROUNDS; round++) {
  const order = SIZES.map((_, k) => k);
  if (round % 2 === 1) order.reverse();
  for (const k of order) {
    const r = block(listFixtures[k]!, [[copy(round % COPIES, "rn"), "plugins"]], LIST_RUNS, 2, `list-${k}-${round}`);
    listMedians[k]!.push(r.medians[0]!);
  }
}
const loadAfter = loadavg();

// -------------------------------------------------------------- 4. strace

type Trace = { lines: string[]; getdents: number };
/** The file system calls of one run, up to the plugin's execve (the rest is /bin/true's). */
function trace(words: string[]): Trace | null {
  if (!HAVE_STRACE) return null;
  const out = join(f.work, "strace.txt");
  inNamespace(f, ["/usr/bin/strace", "-f", "-qq", "-e", "trace=file,getdents64", "-o", out, ...words], "strace");
  const all = readFileSync(out, "utf8").split("\n").filter((l) => l !== "").map((l) => l.replace(/^\d+\s+/, ""));
  const exec = all.findIndex((l) => l.startsWith(`execve("${PLUGIN}"`));
  const lines = exec === -1 ? all : all.slice(0, exec + 1);
  return { lines, getdents: lines.filter((l) => l.startsWith("getdents64")).length };
}
// A call and its path: what identifies "the same access" in two traces.
const key = (l: string) => l.replace(/^(\w+)\((?:AT_FDCWD, |\d+, )?("[^"]*")?.*$/, "$1 $2");
const floorTrace = trace(BENCHES[iFloor]!.argv(0));
const runnerTrace = trace(BENCHES[iTrue]!.argv(0));
const listTrace = trace(BENCHES[iPlugins]!.argv(0));

// --------------------------------------------------------------- statistics

const min = (xs: number[]) => Math.min(...xs);
const max = (xs: number[]) => Math.max(...xs);
const ms = (s: number) => (s * 1000).toFixed(2);
const mib = (kib: number) => (Number.isNaN(kib) ? "n/a" : (kib / 1024).toFixed(1));
const MiB = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const range = (xs: number[], fmt: (x: number) => string) => `${fmt(min(xs))}–${fmt(max(xs))}`;
const x2 = (r: number) => r.toFixed(2);

const wall = blockMedian.map(median);
/** Per block: command i against the floor of the same copy and block. */
const ratios = (i: number, j = iFloor) => blockMedian[i]!.map((t, b) => t / blockMedian[j]![b]!);
/** CPU time (user + system) of command i against the floor's, per block. */
const cpuRatios = (i: number, j = iFloor) => blockCpu[i]!.map((t, b) => t / blockCpu[j]![b]!);
/** The same, with the driver's extra cost over hyperfine -N taken off both sides. */
const corrected = (i: number, j = iFloor) => blockMedian[i]!.map((t, b) => (t - driverExtra) / (blockMedian[j]![b]! - driverExtra));
const rssMedian = rssByCopy.map((perCopy) => median(perCopy.flat()));
/** Per copy: the median RSS of command i minus the floor's (MiB). */
const rssDeltas = (i: number) => rssByCopy[i]!.map((runs, c) => (median(runs) - median(rssByCopy[iFloor]![c]!)) / 1024);

// Listing: least squares through every (entries, block median) point.
const points = SIZES.flatMap((n, k) => listMedians[k]!.map((t) => [n, t] as const));
const meanX = points.reduce((a, [x]) => a + x, 0) / points.length;
const meanY = points.reduce((a, [, y]) => a + y, 0) / points.length;
const sxx = points.reduce((a, [x]) => a + (x - meanX) ** 2, 0);
const slope = points.reduce((a, [x, y]) => a + (x - meanX) * (y - meanY), 0) / sxx; // s per entry
const intercept = meanY - slope * meanX;
const ssRes = points.reduce((a, [x, y]) => a + (y - intercept - slope * x) ** 2, 0);
const ssTot = points.reduce((a, [, y]) => a + (y - meanY) ** 2, 0);
const r2 = ssTot > 0 ? 1 - ssRes / ssTot : 1;
const listWall = listMedians.map(median);
const segments = SIZES.slice(1).map((n, k) => ({ from: SIZES[k]!, to: n, perEntry: (listWall[k + 1]! - listWall[k]!) / (n - SIZES[k]!) }));
const us = (s: number) => (s * 1e6).toFixed(2);

// --------------------------------------------------------------- report

function imageSize(): string {
  const r = Bun.spawnSync(["podman", "image", "inspect", "--format", "{{.Size}}", IMAGE],
    { env: { ...process.env, CONTAINERS_CONF: join(ROOT, "scripts", "containers.conf") }, stdout: "pipe", stderr: "pipe" });
  const size = Number(r.stdout.toString().trim());
  return r.exitCode === 0 && size > 0 ? `${MiB(size)} (${size} bytes)` : "not built";
}
const cpuModel = readFileSync("/proc/cpuinfo", "utf8").match(/^model name\s*:\s*(.*)$/m)?.[1] ?? "unknown";
const versionOf = (words: string[]) => {
  const r = Bun.spawnSync(words, { stdout: "pipe", stderr: "pipe" });
  return (r.stdout.toString() + r.stderr.toString()).trim().split("\n")[0];
};

const rows = BENCHES.map((b, i) => {
  const rr = ratios(i);
  const rss = HAVE_TIME ? `${mib(rssMedian[i]!)} | ${range(rssByCopy[i]!.map(median), mib)}` : "n/a | n/a";
  return `| ${b.label}${b.note ? ` (${b.note})` : ""} | ${ms(wall[i]!)} | ${range(blockMedian[i]!, ms)} | ${ms(median(blockCpu[i]!))} | ${rss} | ${x2(median(rr))} | ${range(rr, x2)} |`;
});

const verdict = (ok: boolean) => (ok ? "**holds**" : "**misses**");
const trueRatio = median(corrected(iTrue));
const infoRatio = median(corrected(iInfo));
const listRatio = median(ratios(iPlugins, iVersion));
const rssDelta = HAVE_TIME ? median(rssDeltas(iTrue)) : NaN;
const lastSegment = segments[segments.length - 1]!;
const prevSegment = segments[segments.length - 2];
const targets = [
  `| \`runner true\` wall ≤ 1.10 × floor (corrected) | ${x2(trueRatio)} × (blocks ${range(corrected(iTrue), x2)}; uncorrected ${x2(median(ratios(iTrue)))}; ${ms(wall[iTrue]!)} vs ${ms(wall[iFloor]!)} ms) | ${verdict(trueRatio <= 1.1)} |`,
  HAVE_TIME
    ? `| peak RSS of \`runner true\` ≤ floor + 2 MiB | floor + ${median(rssDeltas(iTrue)).toFixed(1)} MiB (copies ${range(rssDeltas(iTrue), (d) => d.toFixed(1))}) | ${verdict(rssDelta <= 2)} |`
    : "| peak RSS of `runner true` ≤ floor + 2 MiB | n/a: /usr/bin/time is missing (apt-get install time) | not measured |",
  `| \`runner info --json\` wall ≤ 1.05 × floor (corrected) | ${x2(infoRatio)} × (blocks ${range(corrected(iInfo), x2)}; uncorrected ${x2(median(ratios(iInfo)))}) | ${verdict(infoRatio <= 1.05)} |`,
  `| listing: ≤ 10 µs per runner.d entry (fit over ${SIZES.join(", ")}) | ${us(slope)} µs per entry (R² ${r2.toFixed(3)}) | ${verdict(slope <= 10e-6)} |`,
  prevSegment
    ? `| listing: nothing quadratic (per-entry cost of the last segment ≤ 2 × the one before) | ${us(lastSegment.perEntry)} µs (${lastSegment.from}→${lastSegment.to}) vs ${us(prevSegment.perEntry)} µs (${prevSegment.from}→${prevSegment.to}) | ${verdict(lastSegment.perEntry <= 2 * Math.max(prevSegment.perEntry, 1e-6))} |`
    : "| listing: nothing quadratic | needs three sizes or more | not measured |",
  `| \`runner plugins\` (${PLUGIN_COUNT}) ≤ 2 × \`runner version\` | ${x2(listRatio)} × (blocks ${range(ratios(iPlugins, iVersion), x2)}) | ${verdict(listRatio <= 2)} |`,
  runnerTrace
    ? `| dispatch lists no directory | ${runnerTrace.getdents} getdents64 calls in \`runner true\` (\`runner plugins\`: ${listTrace?.getdents}) | ${verdict(runnerTrace.getdents === 0)} |`
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

const listRows = SIZES.map((n, k) => `| ${n} | ${ms(listWall[k]!)} | ${range(listMedians[k]!, ms)} | ${k > 0 ? us(segments[k - 1]!.perEntry) : ""} |`);

const busy = Math.max(loadBefore[0]!, loadAfter[0]!) > 1;
const seconds = ((performance.now() - started) / 1000).toFixed(0);
const report = `# runner start-up benchmark

Generated by \`bun run bench\` (bench/bench.ts) on ${new Date().toISOString()}; took ${seconds} s.

## Machine

- CPU: ${cpuModel}, ${cpus().length} cores (nproc)
- kernel ${release()}, Debian ${readFileSync("/etc/debian_version", "utf8").trim()}
- bun ${Bun.version}; perl ${versionOf(["/usr/bin/perl", "-e", "print $^V"])}; ${versionOf(["/usr/bin/tini", "--version"])}; dumb-init ${versionOf(["/usr/bin/dumb-init", "--version"])}
- load average (1, 5, 15 min): ${loadBefore.map((l) => l.toFixed(2)).join(", ")} before, ${loadAfter.map((l) => l.toFixed(2)).join(", ")} after${
  busy ? "\n- **the machine was busy** (1-minute load above 1): other work shared the cores, so the numbers are noisy; re-run when it is quiet" : ""}

## Method

Every binary below (runner, the floors, sh, tini, dumb-init) copied ${COPIES} times into one fresh tmpfs
under same-length names (c0/rn … c${COPIES - 1}/fl). One mount namespace per runner.d: contract on /etc/runner,
runner.d of ${PLUGIN_COUNT} root-owned entries (\`true\`, a copy of /bin/true, and ${PLUGIN_COUNT - 1} hard links)
on /usr/local/lib/runner.d; everything runs as uid 10001. Wall time: ${ROUNDS} rounds × ${COPIES} copies = ${ROUNDS * COPIES}
blocks; a block is ${RUNS} turns of bench/pairs.pl over the commands of one copy (+${WARMUP} warm-up turns): each turn
runs every command once, fork to wait, in an order rotated every turn. "wall" is the median of the block medians,
"blocks" their min–max; a ratio is taken within each block (same copy, seconds apart) and its median
and min–max over blocks are shown. CPU is user + system time of each run (wait4), its median per block.
pairs.pl forks Perl for each run, which costs ${ms(driverExtra)} ms more than
hyperfine -N's spawn (measured in this run, alternating, on the direct execve${HAVE_HYPERFINE ? "" : ": hyperfine missing, so 0"});
the targets use ratios with that amount taken off both sides ("corrected"), which is never kinder to runner.

Peak RSS: \`/usr/bin/time -f %M\` (ru_maxrss, across the execve), ${RSS_RUNS} runs per copy, interleaved;
median over all runs and min–max of the per-copy medians. Listing: \`runner plugins\` with ${SIZES.join(", ")}
entries, ${LIST_ROUNDS} rounds × ${LIST_RUNS} runs, least squares over the block medians.
runner: ${RUNNER_OVERRIDE ? `\`${RUNNER_OVERRIDE}\`` : "dist/runner, built by `bun run build`"}. runner and the floors built with
\`${FLAGS.join(" ")}\`.

## Results

| command | wall (ms) | blocks (ms) | CPU (ms) | peak RSS (MiB) | copies (MiB) | wall / floor | blocks |
|---|---:|---:|---:|---:|---:|---:|---:|
${rows.join("\n")}

${ALSO.map((a) => `- {${a.label}}: runner binary \`${a.path}\`\n`).join("")}${VARIANTS.map((v) => `- [${v.label}]: runner and floor built with \`${v.flags.join(" ")}\` in addition\n`).join("")}- runner true / Bun floor: **${x2(median(ratios(iTrue)))}** (blocks ${range(ratios(iTrue), x2)}), corrected for the driver **${x2(trueRatio)}** (${HAVE_HYPERFINE ? `pairs.pl costs ${ms(driverExtra)} ms more per run than hyperfine -N` : "hyperfine missing: no correction"}); runner true / sh -c 'exec plugin': **${x2(median(ratios(iTrue, iSh)))}**
- CPU time (user + system, wait4), which waiting for a busy CPU does not inflate: runner true / floor **${x2(median(cpuRatios(iTrue)))}** (blocks ${range(cpuRatios(iTrue), x2)}), info --json / floor **${x2(median(cpuRatios(iInfo)))}** (blocks ${range(cpuRatios(iInfo), x2)})
- peak RSS of the timed runs (wait4, ${ROUNDS * COPIES * RUNS} runs each): runner true ${mib(median(blockRss[iTrue]!))} MiB, floor ${mib(median(blockRss[iFloor]!))} MiB
- peak RSS, runner true − floor, per copy: ${HAVE_TIME ? rssDeltas(iTrue).map((d) => `${d >= 0 ? "+" : "−"}${Math.abs(d).toFixed(1)}`).join(", ") : "n/a"} MiB
- size of runner: ${MiB(statSync(runnerSource).size)} (${statSync(runnerSource).size} bytes); Bun floor: ${MiB(statSync(join(built, "floor")).size)}
- ${IMAGE}: ${imageSize()}

## Listing cost per runner.d entry

| entries | \`runner plugins\` (ms) | blocks (ms) | µs per entry since the previous size |
|---:|---:|---:|---:|
${listRows.join("\n")}

Least squares: ${ms(intercept)} ms + ${us(slope)} µs × entries (R² ${r2.toFixed(3)}).

## Targets

| target | measured | |
|---|---|---|
${targets.join("\n")}

## Files touched by one dispatch (\`runner true\`)

${straceSection}`;

const summary = {
  date: new Date().toISOString(), bun: Bun.version, flags: FLAGS, copies: COPIES, rounds: ROUNDS, runs: RUNS,
  load: { before: loadBefore, after: loadAfter },
  commands: BENCHES.map((b, i) => ({ label: b.label, wallMs: wall[i]! * 1000, blockMs: blockMedian[i]!.map((t) => t * 1000),
    ratio: median(ratios(i)), ratioBlocks: ratios(i), rssMiB: rssMedian[i]! / 1024 })),
  driverExtraMs: driverExtra * 1000,
  targets: { trueRatio, trueRatioUncorrected: median(ratios(iTrue)), trueCpuRatio: median(cpuRatios(iTrue)), infoCpuRatio: median(cpuRatios(iInfo)), rssDeltaMiB: rssDelta, infoRatio, listRatio, usPerEntry: slope * 1e6, r2, segments },
};

mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, report);
writeFileSync(OUT.replace(/\.md$/, "") + ".json", `${JSON.stringify(summary, null, 2)}\n`);
if (UPDATE) writeFileSync(join(ROOT, "bench", "results.md"), report);
console.log(report);
say(`wrote ${OUT}${UPDATE ? " and bench/results.md" : " (bench/results.md unchanged: --update writes it)"}`);
cleanup();
