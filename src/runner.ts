/*
 * runner — the single entrypoint of runner-base images.
 *
 * It decides what runs in the container, in this fixed order:
 *   1. refuse root (real or effective uid 0), for every command;
 *   2. refuse BUN_OPTIONS (it injects code into the runtime before us);
 *   3. core commands: help, version, info, plugins, check;
 *   4. a plugin: an executable in PLUGIN_DIR whose file name is the command,
 *      checked for ownership and permissions, then execve()d in place of runner;
 *   5. anything else fails. No PATH lookup, no shell, no guessing.
 * The contract (what the image is, whom it runs as) is read only from the
 * files materialized at build time under /etc/runner/; never from the manifest.
 *
 * Paths (compiled in, never configurable):
 *   /etc/runner/image.env     image identity (required)
 *   /etc/runner/runtime.env   runtime user and context (required)
 *   /etc/runner/tools.env     declared tooling (optional)
 *   /usr/local/lib/runner.d/  plugins
 *
 * Exit codes (sysexits.h and the shell's conventions; a plugin's own status
 * is passed through untouched because runner is gone once it runs):
 *   0    success
 *   1    `check` found a failing invariant
 *   64   usage error (unknown option, bad arguments, argument not UTF-8)
 *   70   internal error (a bug: please report it)
 *   74   standard output could not be written (other than a closed pipe)
 *   77   running as root
 *   78   configuration error: contract file missing or invalid, BUN_OPTIONS
 *        set, environment variable not UTF-8
 *   126  plugin found but refused (ownership, permissions, type) or execve
 *        failed for a reason other than ENOENT
 *   127  unknown command, or execve failed with ENOENT
 *
 * Environment: reads BUN_OPTIONS (refused when non-empty); a plugin receives
 * the caller's environment plus RUNNER_PLUGIN=<name> and RUNNER_VERSION=<v>,
 * which override any value the caller set.
 */

import {
  accessSync, closeSync, constants, fstatSync, lstatSync, openSync, readdirSync,
  readFileSync, readSync, readlinkSync, statSync, writeSync, type Stats,
} from "node:fs";
import { dirname } from "node:path";

// ---------------------------------------------------------------- constants

declare const RUNNER_BUILD_VERSION: string | undefined; // set by `bun build --define`
export const VERSION: string =
  typeof RUNNER_BUILD_VERSION === "string" ? RUNNER_BUILD_VERSION : "0.0.0-dev";

export const CONTRACT_DIR = "/etc/runner";
export const IMAGE_ENV = "/etc/runner/image.env";
export const RUNTIME_ENV = "/etc/runner/runtime.env";
export const TOOLS_ENV = "/etc/runner/tools.env";
export const PLUGIN_DIR = "/usr/local/lib/runner.d";

export const EXIT = {
  OK: 0, CHECK_FAILED: 1, USAGE: 64, SOFTWARE: 70, IOERR: 74, NOPERM: 77,
  CONFIG: 78, CANNOT_EXEC: 126, NOT_FOUND: 127,
} as const;

export const CORE_COMMANDS = ["help", "version", "info", "plugins", "check"] as const;
export const MAX_ENV_BYTES = 64 * 1024;
export const PLUGIN_NAME_RULE = "^[a-z0-9][a-z0-9_-]{0,63}$";

// Characters a value may hold without quotes: none of them means anything to sh.
export const UNQUOTED = new Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_@%+=:,./-");
// The only escapes sh honours inside double quotes (besides \newline, refused).
const DQUOTE_ESCAPES = new Set(['"', "\\", "$", "`"]);

const REQUIRED = {
  image: ["IMAGE_NAME", "IMAGE_VERSION", "IMAGE_DOMAIN", "IMAGE_ROLE"],
  runtime: ["RUNNER_USER", "RUNNER_UID", "RUNNER_GID"],
} as const;

const USAGE = `usage: runner COMMAND [ARGS...]

Core commands:
  help [COMMAND]     show this help, or the help of one core command
  version            print the runner version
  info [--json]      show the image contract (/etc/runner/*.env)
  plugins [--json]   list ${PLUGIN_DIR}/ and each entry's status
  check [--json]     verify the runtime invariants (exit 1 if any FAIL)

Any other COMMAND runs the plugin of that exact name; its arguments are its own.
Exit codes: 64 usage, 77 root, 78 contract/config, 126 plugin refused,
127 unknown command; a plugin's own status is passed through.`;

const COMMAND_HELP: Record<string, string> = {
  help: "usage: runner help [COMMAND]\nShow the usage, the core commands and the plugins present.",
  version: `usage: runner version\nPrint "runner ${VERSION}".`,
  info: "usage: runner info [--json]\nShow every key of image.env, runtime.env and tools.env, in file order.\nExit 78 if a contract file is missing or invalid.",
  plugins: `usage: runner plugins [--json]\nList every entry of ${PLUGIN_DIR}/ with its status:\nok, not-executable, unsafe-permissions, shadowed-by-core, invalid-name,\nbroken-link, not-a-file.`,
  check: "usage: runner check [--json]\nCheck the runtime invariants, one line each: PASS, WARN or FAIL.\nExit 0 if nothing fails, 1 if something fails, 78 if the contract is invalid.",
};

// -------------------------------------------------------------------- types

export type EnvFile = Map<string, string>;
export type Contract = { image: EnvFile; runtime: EnvFile; tools: EnvFile };
export type PluginStatus =
  | "ok" | "not-executable" | "unsafe-permissions" | "shadowed-by-core"
  | "invalid-name" | "broken-link" | "not-a-file";
export type PluginEntry = { name: string; path: string; status: PluginStatus; reason: string };
export type CheckResult = { id: string; status: "PASS" | "WARN" | "FAIL"; message: string };
export type Decision =
  | { kind: "core"; command: string; args: string[] }
  | { kind: "plugin"; name: string; args: string[] }
  | { kind: "unknown"; name: string }
  | { kind: "usage"; message: string };

/** An error main() turns into `runner: <message>` and the exit code. */
export class RunnerError extends Error {
  constructor(readonly exitCode: number, message: string) { super(message); }
}

/** A syntax error in an env file; line 0 means the file as a whole. */
export class EnvSyntaxError extends Error {
  constructor(readonly line: number, message: string) { super(message); }
}

// ------------------------------------------------------------- pure parsers

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Shows a character in an error message without letting it mess up a terminal. */
function quoteChar(ch: string): string {
  const c = ch.codePointAt(0) ?? 0;
  return c < 0x20 || (c >= 0x7f && c <= 0x9f) ? `U+${c.toString(16).toUpperCase().padStart(4, "0")}` : `'${ch}'`;
}

/** Shows a word the caller gave in a one-line message: quoted, control and bidi characters escaped, never raw. */
export function quoteWord(s: string): string {
  return `'${s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`)}'`;
}

/**
 * Parses an env file. The rule: a file accepted here means exactly what a
 * POSIX shell's `.` makes of it, and anything outside the grammar is refused
 * (os-release(5) is the model; see docs/CONTRACT.md, C-ENV-*).
 */
export function parseEnv(bytes: Uint8Array): EnvFile {
  if (bytes.length > MAX_ENV_BYTES) throw new EnvSyntaxError(0, `larger than ${MAX_ENV_BYTES} bytes`);
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    throw new EnvSyntaxError(1, "byte order mark is not allowed");
  }
  const result: EnvFile = new Map();
  const firstLine = new Map<string, number>();
  let start = 0;
  for (let n = 1; start <= bytes.length; n++) {
    let end = bytes.indexOf(0x0a, start);
    if (end === -1) end = bytes.length;
    let line: string;
    try { line = utf8.decode(bytes.subarray(start, end)); } catch { throw new EnvSyntaxError(n, "invalid UTF-8"); }
    start = end + 1;
    checkControls(line, n);
    if (line === "" || line[0] === "#") continue;
    const [key, value] = parseAssignment(line, n);
    const seen = firstLine.get(key);
    if (seen !== undefined) throw new EnvSyntaxError(n, `duplicate key '${key}' (first set on line ${seen})`);
    firstLine.set(key, n);
    result.set(key, value);
  }
  return result;
}

function checkControls(line: string, n: number): void {
  for (const ch of line) {
    const c = ch.codePointAt(0)!;
    if (c === 0x0d) throw new EnvSyntaxError(n, "carriage return (only LF line endings are allowed)");
    if (c === 0) throw new EnvSyntaxError(n, "NUL byte");
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || (c >= 0x80 && c <= 0x9f)) {
      throw new EnvSyntaxError(n, `control character ${quoteChar(ch)}`);
    }
  }
}

const isKeyStart = (ch: string) => (ch >= "A" && ch <= "Z") || (ch >= "a" && ch <= "z") || ch === "_";
const isKeyChar = (ch: string) => isKeyStart(ch) || (ch >= "0" && ch <= "9");

function parseAssignment(line: string, n: number): [string, string] {
  if (line[0] === " " || line[0] === "\t") throw new EnvSyntaxError(n, "leading blank");
  if (!isKeyStart(line[0]!)) throw new EnvSyntaxError(n, `key must start with a letter or '_', not ${quoteChar(line[0]!)}`);
  let i = 1;
  while (i < line.length && isKeyChar(line[i]!)) i++;
  const key = line.slice(0, i);
  const next = line[i];
  if (next === undefined) throw new EnvSyntaxError(n, `expected '=' after '${key}'`);
  if (next !== "=") {
    if (key === "export" && next === " ") throw new EnvSyntaxError(n, "'export' is not allowed");
    if (next === " " || next === "\t") throw new EnvSyntaxError(n, "blank between key and '='");
    throw new EnvSyntaxError(n, `character ${quoteChar(next)} is not allowed in a key`);
  }
  return [key, parseValue(line.slice(i + 1), n)];
}

function parseValue(raw: string, n: number): string {
  const open = raw[0];
  if (open === undefined) return "";
  if (open !== '"' && open !== "'") {
    for (const ch of raw) {
      if (UNQUOTED.has(ch)) continue;
      if (ch === " " || ch === "\t") throw new EnvSyntaxError(n, "blank in unquoted value (quote the value)");
      if (ch === '"' || ch === "'") throw new EnvSyntaxError(n, "quote inside an unquoted value");
      throw new EnvSyntaxError(n, `character ${quoteChar(ch)} is not allowed in an unquoted value (quote the value)`);
    }
    return raw;
  }
  let value = "";
  let i = 1;
  for (;;) {
    const ch = raw[i];
    if (ch === undefined) {
      throw new EnvSyntaxError(n, open === '"' ? "unterminated double quote" : "unterminated single quote");
    }
    i++;
    if (ch === open) break;
    if (open === '"') {
      if (ch === "$" || ch === "`") throw new EnvSyntaxError(n, `unescaped ${quoteChar(ch)} inside double quotes`);
      if (ch === "\\") {
        const esc = raw[i];
        if (esc === undefined || !DQUOTE_ESCAPES.has(esc)) {
          throw new EnvSyntaxError(n, `invalid escape '\\${esc ?? ""}' (only \\" \\\\ \\$ \\\` are allowed)`);
        }
        value += esc;
        i++;
        continue;
      }
    }
    value += ch;
  }
  if (i < raw.length) {
    const after = raw[i]!;
    if (after === '"' || after === "'") throw new EnvSyntaxError(n, "only one quoted string per value");
    throw new EnvSyntaxError(n, `unexpected ${quoteChar(after)} after the closing quote`);
  }
  return value;
}

export const isValidPluginName = (name: string): boolean => /^[a-z0-9][a-z0-9_-]{0,63}$/.test(name);
export const isCoreCommand = (name: string): boolean => (CORE_COMMANDS as readonly string[]).includes(name);
const isIdentityName = (v: string) => /^[a-z0-9][a-z0-9._-]*$/.test(v);
// semver.org 2.0.0: MAJOR.MINOR.PATCH, optional -pre-release and +build.
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;

/** Strict decimal id: the whole string, no sign, no leading zero, 1..2^31-1. */
export function isValidId(v: string): boolean {
  return /^[1-9][0-9]{0,9}$/.test(v) && Number(v) <= 2147483647;
}

/** Returns the problems with the required keys of one contract file (empty: valid). */
export function contractProblems(kind: "image" | "runtime", env: EnvFile): string[] {
  const problems: string[] = [];
  for (const key of REQUIRED[kind]) if (!env.has(key)) problems.push(`missing required key ${key}`);
  const bad = (key: string, ok: (v: string) => boolean, what: string) => {
    const v = env.get(key);
    if (v !== undefined && !ok(v)) problems.push(`${key} '${v}' is not ${what}`);
  };
  if (kind === "image") {
    bad("IMAGE_VERSION", (v) => SEMVER.test(v), "a semantic version");
    for (const k of ["IMAGE_NAME", "IMAGE_DOMAIN", "IMAGE_ROLE"]) bad(k, isIdentityName, "a name matching ^[a-z0-9][a-z0-9._-]*$");
  } else {
    bad("RUNNER_USER", (v) => /^[a-z_][a-z0-9_-]{0,31}$/.test(v), "a user name");
    for (const k of ["RUNNER_UID", "RUNNER_GID"]) bad(k, isValidId, "a decimal id from 1 to 2147483647");
  }
  return problems;
}

/**
 * The dispatch decision, pure: core commands first, then a plugin entry of
 * that exact name, then failure. hasEntry is asked only for valid, non-core names.
 */
export function decide(args: readonly string[], hasEntry: (name: string) => boolean): Decision {
  const [first, ...rest] = args;
  if (first === undefined) return { kind: "usage", message: "no command given" };
  if (first === "-h" || first === "--help") return { kind: "core", command: "help", args: rest };
  if (first === "--version") return { kind: "core", command: "version", args: rest };
  if (first.startsWith("-")) return { kind: "usage", message: `unknown option ${quoteWord(first)}; see 'runner help'` };
  if (isCoreCommand(first)) return { kind: "core", command: first, args: rest };
  if (isValidPluginName(first) && hasEntry(first)) return { kind: "plugin", name: first, args: rest };
  return { kind: "unknown", name: first };
}

// ------------------------------------------------------------------- checks

const errCode = (e: unknown): string => (e as NodeJS.ErrnoException)?.code ?? "EUNKNOWN";

function fileKind(st: Stats): string {
  if (st.isDirectory()) return "directory";
  if (st.isFIFO()) return "FIFO";
  if (st.isSocket()) return "socket";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "device";
  if (st.isSymbolicLink()) return "symbolic link";
  return "special file";
}

/** Why a file or directory could be changed by someone other than root, or null. */
function ownershipProblem(st: Stats, what: string): string | null {
  if (st.uid !== 0) return `${what} is owned by uid ${st.uid}, not root`;
  if (st.mode & 0o022) return `${what} is writable by group or others (mode ${(st.mode & 0o7777).toString(8)})`;
  return null;
}

/**
 * Reads and parses one contract file. O_NOFOLLOW: contract files are regular
 * files, never links; O_NONBLOCK: a FIFO in its place must not hang us.
 * Returns null only for a missing optional file.
 */
export function readContractFile(path: string, optional: boolean): EnvFile | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = errCode(e);
    if (code === "ENOENT" && optional) return null;
    const why = { ENOENT: "missing", EACCES: "permission denied", ELOOP: "is a symbolic link" }[code] ?? code;
    throw new RunnerError(EXIT.CONFIG, `${path}: cannot open: ${why}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new RunnerError(EXIT.CONFIG, `${path}: is a ${fileKind(st)}, not a regular file`);
    const unsafe = ownershipProblem(st, "file");
    if (unsafe) throw new RunnerError(EXIT.CONFIG, `${path}: ${unsafe}`);
    const buf = new Uint8Array(MAX_ENV_BYTES + 1);
    let len = 0;
    for (let got = 1; got > 0 && len < buf.length; len += got) got = readSync(fd, buf, len, buf.length - len, null);
    try {
      return parseEnv(buf.subarray(0, len));
    } catch (e) {
      if (!(e instanceof EnvSyntaxError)) throw e;
      throw new RunnerError(EXIT.CONFIG, e.line ? `${path}:${e.line}: ${e.message}` : `${path}: ${e.message}`);
    }
  } catch (e) {
    if (e instanceof RunnerError) throw e;
    throw new RunnerError(EXIT.CONFIG, `${path}: cannot read: ${errCode(e)}`);
  } finally {
    closeSync(fd);
  }
}

function contractDirProblem(): string | null {
  try {
    const st = lstatSync(CONTRACT_DIR);
    if (!st.isDirectory()) return `${CONTRACT_DIR}: is a ${fileKind(st)}, not a directory`;
    const unsafe = ownershipProblem(st, "directory");
    return unsafe && `${CONTRACT_DIR}: ${unsafe}`;
  } catch (e) {
    return `${CONTRACT_DIR}: cannot stat: ${errCode(e)}`;
  }
}

/** One contract file, read and with its required keys checked (kind null: tools.env, optional). */
function readContractPart(path: string, kind: "image" | "runtime" | null): EnvFile | null {
  const env = readContractFile(path, kind === null);
  const problems = env && kind ? contractProblems(kind, env) : [];
  if (problems.length) throw new RunnerError(EXIT.CONFIG, `${path}: ${problems.join("; ")}`);
  return env;
}

/** Reads, parses and validates the whole contract; throws RunnerError(78). */
export function loadContract(): Contract {
  const dir = contractDirProblem();
  if (dir) throw new RunnerError(EXIT.CONFIG, dir);
  const image = readContractPart(IMAGE_ENV, "image")!;
  const runtime = readContractPart(RUNTIME_ENV, "runtime")!;
  return { image, runtime, tools: readContractPart(TOOLS_ENV, null) ?? new Map() };
}

/**
 * Follows path one name at a time, as execve will, and returns why someone but
 * root could change what it resolves to, or null: each directory looked in must
 * be root's and not writable by group or others (sticky ones included). Else
 * whoever may write a directory on the way (one holding a link, or above the
 * target) could swap the file between these checks and execve.
 */
function resolutionProblem(path: string, seen: Map<string, Stats> = new Map()): string | null {
  // A listing asks about the same folders for every entry: stat each once.
  const stat = (p: string, follow: boolean) => {
    const k = `${follow}${p}`;
    let st = seen.get(k);
    if (st === undefined) seen.set(k, st = follow ? statSync(p) : lstatSync(p));
    return st;
  };
  const names = (p: string) => p.split("/").filter((s) => s !== "" && s !== ".");
  const todo = names(path);
  let dir = "/";
  for (let links = 0; todo.length > 0;) {
    const unsafe = ownershipProblem(stat(dir, true), `directory ${links ? "of link target " : ""}${quoteWord(dir)}`);
    if (unsafe) return unsafe;
    const name = todo.shift()!;
    if (name === "..") { dir = dirname(dir); continue; } // dir holds no links: its parents were checked
    const next = dir === "/" ? `/${name}` : `${dir}/${name}`;
    if (!stat(next, false).isSymbolicLink()) { dir = next; continue; }
    if (++links > 40) throw Object.assign(new Error("too many links"), { code: "ELOOP" });
    const target = readlinkSync(next);
    if (target.startsWith("/")) dir = "/";
    todo.unshift(...names(target));
  }
  return null;
}

/**
 * Why runner.d cannot be trusted, or null. A missing runner.d simply holds no
 * plugins. runner.d and every folder above it are checked: a plugin that is
 * not a link is reached through exactly these folders.
 */
function pluginDirProblem(): string | null {
  try {
    const st = lstatSync(PLUGIN_DIR);
    if (!st.isDirectory()) return `${PLUGIN_DIR} is a ${fileKind(st)}, not a directory`;
    return ownershipProblem(st, "plugin directory") ?? resolutionProblem(PLUGIN_DIR);
  } catch (e) {
    return errCode(e) === "ENOENT" ? null : `${PLUGIN_DIR}: cannot stat: ${errCode(e)}`;
  }
}

/**
 * Everything runner demands of a plugin before it execs it. stat() never
 * opens the file, so FIFOs and devices cannot block us. The final target and
 * every folder on the way to it must be root's: whoever may write there decides what runs.
 */
export function inspectPlugin(name: string, dirProblem: string | null, seen?: Map<string, Stats>): PluginEntry {
  const path = `${PLUGIN_DIR}/${name}`;
  const entry = (status: PluginStatus, reason: string): PluginEntry => ({ name, path, status, reason });
  if (!isValidPluginName(name)) return entry("invalid-name", `name does not match ${PLUGIN_NAME_RULE}`);
  if (isCoreCommand(name)) return entry("shadowed-by-core", `'${name}' is a core command; this file never runs`);
  let link: Stats, st: Stats;
  try {
    link = lstatSync(path);
    st = link.isSymbolicLink() ? statSync(path) : link;
  } catch (e) {
    const code = errCode(e);
    if (code === "ENOENT" || code === "ELOOP") return entry("broken-link", `link cannot be resolved (${code})`);
    return entry("not-a-file", `cannot stat: ${code}`);
  }
  if (!st.isFile()) return entry("not-a-file", `is a ${fileKind(st)}, not a regular file`);
  const unsafe = ownershipProblem(st, link.isSymbolicLink() ? "link target" : "file");
  if (unsafe) return entry("unsafe-permissions", unsafe);
  if (st.mode & 0o6000) return entry("unsafe-permissions", "setuid or setgid bit set: plugins never run privileged");
  if (dirProblem) return entry("unsafe-permissions", dirProblem);
  // A plain file is reached through runner.d and the folders above it, which
  // dirProblem covers; a link may lead anywhere, so its whole way is walked.
  if (link.isSymbolicLink()) {
    try {
      // The entry itself was just lstat()ed: the walk need not do it again.
      const onTheWay = resolutionProblem(path, (seen ?? new Map()).set(`false${path}`, link));
      if (onTheWay) return entry("unsafe-permissions", onTheWay);
    } catch (e) {
      return entry("broken-link", `link cannot be resolved (${errCode(e)})`);
    }
  }
  try {
    if ((st.mode & 0o111) === 0) throw new Error("no execute bit");
    accessSync(path, constants.X_OK);
  } catch {
    return entry("not-executable", `not executable by uid ${process.getuid?.()}`);
  }
  return entry("ok", "");
}

/** Every entry of runner.d, sorted by name (byte order, stable across locales). */
export function listPlugins(): PluginEntry[] {
  let names: string[];
  try {
    names = readdirSync(PLUGIN_DIR);
  } catch (e) {
    if (errCode(e) === "ENOENT") return [];
    throw new RunnerError(EXIT.CONFIG, `${PLUGIN_DIR}: cannot list: ${errCode(e)}`);
  }
  const dirProblem = pluginDirProblem();
  const seen = new Map<string, Stats>();
  return names.sort().map((name) => inspectPlugin(name, dirProblem, seen));
}

/**
 * Bun decodes argv and environ lossily (a \xff byte becomes U+FFFD) and
 * execve() takes strings, so bytes that are not UTF-8 cannot reach a plugin
 * intact. Refuse instead of handing it corrupted input: the raw bytes are in /proc.
 */
function checkRawEncoding(): void {
  const read = (path: string) => {
    try { return readFileSync(path); }
    catch (e) { throw new RunnerError(EXIT.SOFTWARE, `cannot read ${path}: ${errCode(e)}`); }
  };
  const valid = (bytes: Uint8Array) => {
    try { utf8.decode(bytes); return true; } catch { return false; }
  };
  const parts = (bytes: Buffer) => bytes.toString("latin1").split("\0").slice(0, -1);
  // NUL is valid UTF-8 and ends any sequence, so one decode of the whole file
  // checks every string in it; only a failure needs the strings one by one.
  const cmdline = read("/proc/self/cmdline");
  if (!valid(cmdline)) parts(cmdline).forEach((arg, i) => {
    if (i > 0 && !valid(Buffer.from(arg, "latin1"))) throw new RunnerError(EXIT.USAGE, `argument ${i} is not valid UTF-8; runner cannot pass it on unchanged`);
  });
  const environ = read("/proc/self/environ");
  if (valid(environ)) return;
  for (const kv of parts(environ)) {
    if (valid(Buffer.from(kv, "latin1"))) continue;
    const name = kv.split("=")[0]!.replace(/[^A-Za-z0-9_]/g, "?");
    throw new RunnerError(EXIT.CONFIG, `environment variable '${name}' is not valid UTF-8; runner cannot pass it on unchanged`);
  }
}

// ----------------------------------------------------------------- commands

/** Writes all of text to stdout. A reader that went away (EPIPE) is not an error. */
function out(text: string): void {
  const buf = Buffer.from(text.endsWith("\n") ? text : `${text}\n`);
  for (let off = 0; off < buf.length;) {
    try {
      off += writeSync(1, buf, off);
    } catch (e) {
      const code = errCode(e);
      if (code === "EPIPE") return;
      // A non-blocking stdout inherited from the caller: wait for room.
      if (code === "EAGAIN") { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1); continue; }
      throw new RunnerError(EXIT.IOERR, `cannot write to standard output: ${code}`);
    }
  }
}

function err(text: string): void {
  try { writeSync(2, `${text}\n`); } catch { /* nowhere left to report it */ }
}

function takeJsonFlag(command: string, args: readonly string[]): boolean {
  if (args.length === 0) return false;
  if (args.length === 1 && args[0] === "--json") return true;
  throw new RunnerError(EXIT.USAGE, `${command}: unexpected argument ${quoteWord(args.find((a) => a !== "--json") ?? args[1]!)} (usage: runner ${command} [--json])`);
}

function cmdHelp(args: readonly string[]): number {
  if (args.length > 1) throw new RunnerError(EXIT.USAGE, "help: expected at most one COMMAND");
  const topic = args[0];
  if (topic !== undefined) {
    const text = COMMAND_HELP[topic];
    if (text !== undefined && isCoreCommand(topic)) { out(text); return EXIT.OK; }
    if (isValidPluginName(topic) && inspectPlugin(topic, pluginDirProblem()).status === "ok") {
      out(`'${topic}' is a plugin; its help is its own: runner ${topic} --help`);
      return EXIT.OK;
    }
    throw new RunnerError(EXIT.USAGE, `help: unknown command ${quoteWord(topic)}`);
  }
  let plugins: string;
  try {
    const ok = listPlugins().filter((p) => p.status === "ok").map((p) => p.name);
    plugins = ok.length ? ok.map((n) => `  ${n}`).join("\n") : "  (none)";
  } catch (e) {
    plugins = `  (cannot list: ${(e as Error).message})`;
  }
  out(`${USAGE}\n\nPlugins (see 'runner plugins' for every entry and its status):\n${plugins}`);
  return EXIT.OK;
}

function cmdVersion(args: readonly string[]): number {
  if (args.length) throw new RunnerError(EXIT.USAGE, `version: unexpected argument ${quoteWord(args[0]!)}`);
  out(`runner ${VERSION}`);
  return EXIT.OK;
}

function cmdInfo(args: readonly string[]): number {
  const json = takeJsonFlag("info", args);
  const c = loadContract();
  if (json) {
    const obj = (m: EnvFile) => Object.fromEntries(m);
    out(JSON.stringify({ image: obj(c.image), runtime: obj(c.runtime), tools: obj(c.tools) }, null, 2));
    return EXIT.OK;
  }
  const section = (title: string, m: EnvFile) =>
    `${title}:\n${m.size ? [...m].map(([k, v]) => `  ${k}=${v}`).join("\n") : "  (none)"}`;
  out([section("image", c.image), section("runtime", c.runtime), section("tools", c.tools)].join("\n"));
  return EXIT.OK;
}

function cmdPlugins(args: readonly string[]): number {
  const json = takeJsonFlag("plugins", args);
  loadContract();
  const entries = listPlugins();
  if (json) {
    out(JSON.stringify({ plugins: entries.map(({ name, path, status, reason }) => ({ name, path, status, reason })) }, null, 2));
    return EXIT.OK;
  }
  if (!entries.length) { out(`no plugins in ${PLUGIN_DIR}/`); return EXIT.OK; }
  const width = Math.max(4, ...entries.map((e) => JSON.stringify(e.name).length));
  out(entries.map((e) => {
    const name = isValidPluginName(e.name) ? e.name : JSON.stringify(e.name);
    return `${name.padEnd(width)}  ${e.status.padEnd(18)}  ${e.reason}`.trimEnd();
  }).join("\n"));
  return EXIT.OK;
}

/** The runtime invariants, each as one result; never throws for a failing one. */
export function runChecks(): { results: CheckResult[]; contractFailed: boolean } {
  const results: CheckResult[] = [];
  const add = (id: string, status: CheckResult["status"], message: string) => results.push({ id, status, message });
  const uid = process.getuid!();
  add("not-root", "PASS", `running as uid ${uid}, gid ${process.getgid!()}`);
  if (process.pid === 1) add("pid1", "WARN", "running as PID 1: nothing reaps orphans; run the container with --init");
  let contractFailed = false;
  const dir = contractDirProblem();
  add("contract-dir", dir ? "FAIL" : "PASS", dir ?? `${CONTRACT_DIR} is root's and not writable by others`);
  const files = [["contract-image", IMAGE_ENV, "image"], ["contract-runtime", RUNTIME_ENV, "runtime"], ["contract-tools", TOOLS_ENV, null]] as const;
  let runtime: EnvFile | null = null;
  for (const [id, path, kind] of files) {
    try {
      const env = readContractPart(path, kind);
      if (kind === "runtime") runtime = env;
      add(id, "PASS", env ? `${path}: ${env.size} keys, valid, root's, read-only` : `${path}: absent (optional)`);
    } catch (e) {
      if (!(e instanceof RunnerError)) throw e;
      contractFailed = true;
      add(id, "FAIL", e.message);
    }
  }
  if (dir) contractFailed = true;
  const wanted = runtime?.get("RUNNER_UID");
  if (wanted !== undefined && wanted !== String(uid)) {
    add("uid", "WARN", `uid ${uid} differs from RUNNER_UID ${wanted} (expected on arbitrary-UID platforms)`);
  } else if (wanted !== undefined) {
    add("uid", "PASS", `uid ${uid} is RUNNER_UID`);
  }
  const pdir = pluginDirProblem();
  add("plugin-dir", pdir ? "FAIL" : "PASS", pdir ?? `${PLUGIN_DIR} is root's and not writable by others (or absent)`);
  try {
    for (const p of listPlugins()) {
      add(`plugin:${p.name}`, p.status === "ok" ? "PASS" : "FAIL", p.status === "ok" ? "ok" : `${p.status}: ${p.reason}`);
    }
  } catch (e) {
    if (!(e instanceof RunnerError)) throw e;
    add("plugins", "FAIL", e.message);
  }
  return { results, contractFailed };
}

function cmdCheck(args: readonly string[]): number {
  const json = takeJsonFlag("check", args);
  const { results, contractFailed } = runChecks();
  const ok = !results.some((r) => r.status === "FAIL");
  if (json) out(JSON.stringify({ ok, checks: results }, null, 2));
  else out(results.map((r) => `${r.status.padEnd(4)}  ${r.id}: ${r.message}`).join("\n"));
  return contractFailed ? EXIT.CONFIG : ok ? EXIT.OK : EXIT.CHECK_FAILED;
}

/**
 * Replaces runner with the plugin (same PID: signals and exit status are the
 * plugin's own). Returns only by throwing.
 */
function execPlugin(name: string, args: readonly string[]): never {
  loadContract();
  checkRawEncoding();
  const plugin = inspectPlugin(name, pluginDirProblem());
  if (plugin.status !== "ok") {
    throw new RunnerError(EXIT.CANNOT_EXEC, `plugin '${name}' refused (${plugin.status}): ${plugin.reason}`);
  }
  const env: Record<string, string> = { ...process.env, RUNNER_PLUGIN: name, RUNNER_VERSION: VERSION } as Record<string, string>;
  // Bun ignores SIGPIPE and SIGXFSZ, and execve keeps ignored dispositions;
  // a caught signal is reset to default by execve, so catching them here
  // hands the plugin the dispositions a shell would.
  const noop = () => {};
  process.on("SIGPIPE", noop);
  process.on("SIGXFSZ", noop);
  // Node's "execve is experimental" warning would land on stderr after a failed exec.
  process.removeAllListeners("warning");
  try {
    process.execve!(plugin.path, [plugin.path, ...args], env);
  } catch (e) {
    const code = errCode(e);
    throw new RunnerError(code === "ENOENT" ? EXIT.NOT_FOUND : EXIT.CANNOT_EXEC, `plugin '${name}': execve ${plugin.path} failed: ${code}`);
  }
  throw new RunnerError(EXIT.SOFTWARE, "execve returned");
}

const COMMANDS: Record<string, (args: readonly string[]) => number> = {
  help: cmdHelp, version: cmdVersion, info: cmdInfo, plugins: cmdPlugins, check: cmdCheck,
};

/** Steps 1 to 6 of docs/CONTRACT.md, in order. Returns the exit code or throws. */
export function run(args: readonly string[]): number {
  // 1. Never as root: not for `version`, not for `help`.
  if (process.getuid!() === 0 || process.geteuid!() === 0) {
    throw new RunnerError(EXIT.NOPERM, "refusing to run as root (uid 0); run as a non-root user, e.g. --user 10001");
  }
  // 2. BUN_OPTIONS can preload code into the runtime before runner's first line.
  if (process.env.BUN_OPTIONS) {
    throw new RunnerError(EXIT.CONFIG, "BUN_OPTIONS is set; it can inject code into the Bun runtime, so runner refuses to start; unset it");
  }
  // 3-6. Core command, plugin, or failure.
  const decision = decide(args, (name) => {
    try { lstatSync(`${PLUGIN_DIR}/${name}`); return true; } catch { return false; }
  });
  switch (decision.kind) {
    case "usage":
      // The usage only when nothing was asked; any other error stays one line (C-OUT-1).
      if (args.length === 0) err(USAGE);
      throw new RunnerError(EXIT.USAGE, decision.message);
    case "core":
      return COMMANDS[decision.command]!(decision.args);
    case "plugin":
      return execPlugin(decision.name, decision.args);
    case "unknown":
      throw new RunnerError(EXIT.NOT_FOUND,
        `unknown command ${quoteWord(decision.name)}; core commands: ${CORE_COMMANDS.join(", ")}; plugins: see 'runner plugins'`);
  }
}

function main(): never {
  let code: number;
  try {
    code = run(process.argv.slice(2));
  } catch (e) {
    if (e instanceof RunnerError) {
      code = e.exitCode;
      err(`runner: ${e.message}`);
    } else {
      code = EXIT.SOFTWARE;
      err(`runner: internal error: ${String((e as Error)?.message ?? e).split("\n")[0]}`);
    }
  }
  process.exit(code);
}

if (import.meta.main) main();
