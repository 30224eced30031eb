/*
 * runner — the single entrypoint of runner-base images.
 *
 * It decides what runs in the container, in this fixed order (the numbered
 * steps of docs/CONTRACT.md, "Order of evaluation"):
 *   1. refuse root (real or effective uid 0), for every command;
 *   2. refuse what makes Bun run code or open a debugger before runner's first
 *      line: a non-empty BUN_OPTIONS or any BUN_INSPECT* entry in the raw
 *      environment (/proc/self/environ, duplicates included);
 *   3. options and core commands: help, version, info, plugins, check (a core
 *      command checks its own arguments before it reads the contract);
 *   4. look up a plugin by its exact name in PLUGIN_DIR; no such entry: 127;
 *      a runner.d that cannot be searched: 78;
 *   5. before a plugin runs: the contract, the raw argv and environment, the
 *      plugin's type, ownership and permissions (file capabilities are
 *      reported by `plugins` and `check`: reading them costs a libc load);
 *   6. execve() the plugin in place of runner, with the caller's descriptors.
 * No PATH lookup, no shell, no guessing.
 * The contract (what the image is, whom it runs as) is read only from the
 * files materialized at build time under /etc/runner/; never from the manifest.
 *
 * Paths (compiled in, never configurable):
 *   /etc/runner/image.env     image identity (required; IMAGE_* keys only)
 *   /etc/runner/runtime.env   runtime user and context (required; RUNNER_* keys)
 *   /etc/runner/tools.env     declared tooling (optional; TOOL_* keys)
 *   /usr/local/lib/runner.d/  plugins
 *   /proc/self/{cmdline,environ,status,fd}  raw argv and environment, the
 *                             no_new_privs flag, the descriptors to pass on
 *
 * Exit codes (sysexits.h and the shell's conventions; a plugin's own status
 * is passed through untouched because runner is gone once it runs):
 *   0    success
 *   1    `check` found a failing invariant
 *   64   usage error (unknown option, bad arguments, argument not UTF-8)
 *   70   internal error (a bug: please report it)
 *   74   standard output could not be written (other than a closed pipe)
 *   77   running as root
 *   78   configuration error: contract file missing or invalid, BUN_OPTIONS or
 *        BUN_INSPECT* set, an environment runner cannot pass on unchanged
 *        (not UTF-8, a duplicate name, an entry without '='), runner.d not
 *        searchable
 *   126  plugin found but refused (ownership, permissions, type) or execve
 *        failed for a reason other than ENOENT
 *   127  unknown command, or execve failed with ENOENT
 *   any other: the plugin's own status
 *
 * Environment: refuses BUN_OPTIONS (non-empty) and BUN_INSPECT*; reads HOME
 * only for `check`. A plugin receives the caller's environment plus
 * RUNNER_PLUGIN=<name> and RUNNER_VERSION=<v>, which override any value the
 * caller set, and every descriptor the caller passed, under the same number.
 *
 * Bun built-ins: bun:ffi (libc's fcntl, execve, getxattr) is loaded only
 * when a descriptor above 2 must be passed on, or by `plugins` and `check`
 * to read file capabilities: never on the common dispatch path
 * (docs/ARCHITECTURE.md, "Descriptors").
 */

import {
  accessSync, closeSync, constants, fstatSync, lstatSync, openSync, readdirSync,
  readFileSync, readSync, readlinkSync, statSync, writeSync, type Stats,
} from "node:fs";

// ---------------------------------------------------------------- constants

declare const RUNNER_BUILD_VERSION: string | undefined; // set by `bun build --define`
export const VERSION: string =
  typeof RUNNER_BUILD_VERSION === "string" ? RUNNER_BUILD_VERSION : "0.0.0-dev";
declare const RUNNER_SOURCE_SHA256: string | undefined; // sha256 of src/runner.ts, set by scripts/build.ts
const SOURCE_SHA256: string = typeof RUNNER_SOURCE_SHA256 === "string" ? RUNNER_SOURCE_SHA256 : "unknown";

export const CONTRACT_DIR = "/etc/runner";
export const IMAGE_ENV = "/etc/runner/image.env";
export const RUNTIME_ENV = "/etc/runner/runtime.env";
export const TOOLS_ENV = "/etc/runner/tools.env";
export const PLUGIN_DIR = "/usr/local/lib/runner.d";
/**
 * Each contract file has its own key namespace (the manifest routes keys the
 * same way): no contract key can be one of sh's special or read-only names
 * (OPTIND, UID, PPID, SHELLOPTS, …), so `.` means the same to dash and bash.
 */
export const KEY_PREFIX = { image: "IMAGE_", runtime: "RUNNER_", tools: "TOOL_" } as const;

/** Descriptors Bun's runtime holds open at runner's first line: its event loop's eventpoll and eventfd. */
const BUN_OWN_DESCRIPTORS = 2;
// Linux's own values (asm-generic; the same on x86_64 and aarch64).
const F_SETFD = 2;
const ENODATA = 61;
const ENOTSUP = 95;

// errno names for an execve failure message (asm-generic numbering).
const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM", 2: "ENOENT", 7: "E2BIG", 8: "ENOEXEC", 12: "ENOMEM", 13: "EACCES", 20: "ENOTDIR",
  21: "EISDIR", 26: "ETXTBSY", 36: "ENAMETOOLONG", 40: "ELOOP",
};

export const EXIT = {
  OK: 0, CHECK_FAILED: 1, USAGE: 64, SOFTWARE: 70, IOERR: 74, NOPERM: 77,
  CONFIG: 78, CANNOT_EXEC: 126, NOT_FOUND: 127,
} as const;

export const CORE_COMMANDS = ["help", "version", "info", "plugins", "check"] as const;
export const MAX_ENV_BYTES = 64 * 1024;
export const PLUGIN_NAME_RULE = "^[a-z0-9][a-z0-9_-]{0,63}$";

// Characters a value may hold without quotes: none of them means anything to sh.
// Nothing is built at module load (no Set, no decoder): runner lives a few
// milliseconds and every runtime feature costs memory on its first use
// (docs/PERFORMANCE.md); these are strings and are asked one character at a time.
export const UNQUOTED_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_@%+=:,./-";
export const UNQUOTED = { has: (ch: string): boolean => ch.length === 1 && UNQUOTED_CHARS.includes(ch) };
// The only escapes sh honours inside double quotes (besides \newline, refused).
const DQUOTE_ESCAPES = '"\\$`';

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

Exit codes:
  0    success                     74   standard output not writable
  1    check found a FAIL          77   running as root
  64   usage error                 78   contract or configuration invalid
  70   internal error (a bug)      126  plugin refused or not executable
                                   127  unknown command
  any other: the plugin's own status (runner is gone once a plugin runs)`;

const COMMAND_HELP: Record<string, string> = {
  help: "usage: runner help [COMMAND]\nShow the usage, the core commands and the plugins present.",
  version: `usage: runner version [--json]\nPrint "runner ${VERSION}"; with --json the build facts: version, bun, source_sha256.`,
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
/** nameBytes: the raw name, only when it is not UTF-8 (then name is a lossy decoding). */
export type PluginEntry = { name: string; path: string; status: PluginStatus; reason: string; nameBytes?: Uint8Array };
export type CheckResult = { id: string; status: "PASS" | "WARN" | "FAIL"; message: string };
export type Decision =
  | { kind: "core"; command: string; args: string[] }
  | { kind: "plugin"; name: string; args: string[] }
  | { kind: "unknown"; name: string }
  | { kind: "usage"; message: string };

type Libc = {
  fcntl(fd: number, cmd: number, arg: number): number;
  getxattr(path: Uint8Array, name: Uint8Array): number;
  sigprocmask(how: number, set: Uint8Array): number;
  execve(path: Uint8Array, argv: BigUint64Array, envp: BigUint64Array): number;
  address(buf: Uint8Array): number;
  errno(): number;
};
/** An error main() turns into `runner: <message>` and the exit code. */
export class RunnerError extends Error {
  constructor(readonly exitCode: number, message: string) { super(message); }
}

/** A syntax error in an env file; line 0 means the file as a whole. */
export class EnvSyntaxError extends Error {
  constructor(readonly line: number, message: string) { super(message); }
}

// ------------------------------------------------------------- pure parsers

let decoder: TextDecoder | null = null;
/** The strict UTF-8 decoder, built on first use: the usual dispatch never needs it. */
const utf8 = { decode: (bytes: Uint8Array): string => (decoder ??= new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })).decode(bytes) };

/**
 * Is this valid UTF-8? A lossy decode turns every invalid sequence into
 * U+FFFD, so a result without one means valid; only when one is there (bytes
 * that are not UTF-8, or a real U+FFFD) does the strict decoder decide. Why
 * not node:buffer's isUtf8: importing node:buffer costs every start about
 * 0.2 ms, and a first fatal decoder 0.7 MiB (docs/PERFORMANCE.md).
 * test/fastpath.test.ts checks it against the strict decoder.
 */
export function isValidUtf8(bytes: Buffer): boolean {
  if (bytes.toString("utf8").indexOf("\ufffd") === -1) return true;
  try { utf8.decode(bytes); return true; } catch { return false; }
}

/**
 * The characters runner never prints raw: controls (Cc: C0, DEL, C1 such as
 * the CSI U+009B), format characters (Cf: bidi overrides and isolates, U+200B,
 * U+200E, U+200F, U+061C, U+FEFF, …), line and paragraph separators (Zl, Zp)
 * and lone surrogates (Cs). Unicode's general categories, not a hand list: a
 * new invisible or bidi character lands in Cf. The backslash is escaped too,
 * so an escaped text maps back to exactly one original.
 */
const UNPRINTABLE = /[\\\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;
const UNPRINTABLE_ONE = /^[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]$/u;

/** Text safe for a terminal and for one line: unprintable characters as \u{hex}, '\' as '\\'. */
export function escapeText(s: string): string {
  return s.replace(UNPRINTABLE, (c) => (c === "\\" ? "\\\\" : `\\u{${c.codePointAt(0)!.toString(16)}}`));
}

/**
 * A file name as bytes, for people: valid UTF-8 is shown as escapeText()
 * shows it; otherwise printable ASCII stays and every other byte is \x{hh}.
 * Either way the bytes can be recovered from what is printed.
 */
export function showBytes(bytes: Uint8Array): string {
  try { return escapeText(utf8.decode(bytes)); } catch { /* not UTF-8: byte by byte */ }
  let s = "";
  for (const b of bytes) s += b === 0x5c ? "\\\\" : b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x{${b.toString(16).padStart(2, "0")}}`;
  return s;
}

/** Shows a character in an error message without letting it mess up a terminal. */
function quoteChar(ch: string): string {
  const c = ch.codePointAt(0) ?? 0;
  return UNPRINTABLE_ONE.test(ch) ? `U+${c.toString(16).toUpperCase().padStart(4, "0")}` : `'${ch}'`;
}

/** Shows a word the caller gave in a one-line message: quoted, unprintable characters escaped, never raw. */
export function quoteWord(s: string): string {
  return `'${escapeText(s)}'`;
}

/**
 * Parses an env file. The rule: a file accepted here means exactly what a
 * POSIX shell's `.` makes of it, and anything outside the grammar is refused
 * (os-release(5) is the model; see docs/CONTRACT.md, C-ENV-*). With a prefix,
 * every key must start with it and be longer (the file's namespace, C-ENV-10).
 */
export function parseEnv(bytes: Uint8Array, prefix?: string): EnvFile {
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
    if (prefix !== undefined && !(key.startsWith(prefix) && key.length > prefix.length)) {
      throw new EnvSyntaxError(n, `key ${quoteWord(key)} is outside this file's namespace: its keys are ${prefix}*`);
    }
    const seen = firstLine.get(key);
    if (seen !== undefined) throw new EnvSyntaxError(n, `duplicate key '${key}' (first set on line ${seen})`);
    firstLine.set(key, n);
    result.set(key, value);
  }
  return result;
}

/**
 * The common case of parseEnv, on the file's text: ASCII only (so the text's
 * decoding never matters), comments, blank lines, KEY=value with a bare value
 * or a single-quoted one. Returns null for anything else (double quotes,
 * non-ASCII bytes, any error, a key outside the namespace, a duplicate):
 * parseEnv, the grammar itself, then decides and words the error. Why a
 * second parser: the first run of parseEnv's general code (UTF-8 decoder,
 * per-character strings) is most of runner's own start-up cost; this loop
 * over character codes is not. test/fastpath.test.ts checks that both give
 * the same result over random files wherever this one answers.
 */
export function parseEnvFast(text: string, prefix?: string): EnvFile | null {
  if (text.length > MAX_ENV_BYTES) return null;
  const result: EnvFile = new Map();
  const end = text.length;
  let i = 0;
  while (i <= end) {
    let eol = text.indexOf("\n", i);
    if (eol === -1) eol = end;
    const c0 = i < eol ? text.charCodeAt(i) : -1;
    if (c0 === -1) { i = eol + 1; continue; } // empty line
    if (c0 === 0x23) { // a comment: printable ASCII and tabs only
      for (let j = i + 1; j < eol; j++) {
        const c = text.charCodeAt(j);
        if ((c < 0x20 && c !== 0x09) || c > 0x7e) return null;
      }
      i = eol + 1;
      continue;
    }
    let j = i;
    if (!((c0 >= 0x41 && c0 <= 0x5a) || (c0 >= 0x61 && c0 <= 0x7a) || c0 === 0x5f)) return null;
    for (j = i + 1; j < eol; j++) {
      const c = text.charCodeAt(j);
      if (!((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || (c >= 0x30 && c <= 0x39))) break;
    }
    if (j >= eol || text.charCodeAt(j) !== 0x3d) return null;
    const key = text.slice(i, j);
    if (prefix !== undefined && !(key.length > prefix.length && key.startsWith(prefix))) return null;
    if (result.has(key)) return null;
    let value: string;
    if (j + 1 < eol && text.charCodeAt(j + 1) === 0x27) { // 'single quoted': printable ASCII or tab, no quote
      const close = text.indexOf("'", j + 2);
      if (close === -1 || close !== eol - 1) return null;
      for (let k = j + 2; k < close; k++) {
        const c = text.charCodeAt(k);
        if ((c < 0x20 && c !== 0x09) || c > 0x7e) return null;
      }
      value = text.slice(j + 2, close);
    } else { // bare: only UNQUOTED characters
      for (let k = j + 1; k < eol; k++) {
        const c = text.charCodeAt(k);
        if (!((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x2b && c <= 0x3a) || c === 0x5f || c === 0x40 || c === 0x25 || c === 0x3d)) return null;
      }
      value = text.slice(j + 1, eol);
    }
    result.set(key, value);
    i = eol + 1;
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
        if (esc === undefined || !DQUOTE_ESCAPES.includes(esc)) {
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

/**
 * PLUGIN_NAME_RULE, ^[a-z0-9][a-z0-9_-]{0,63}$, by character codes: it runs
 * on every dispatch, where a first RegExp costs more than the whole check
 * (test/fastpath.test.ts checks it against the rule over random names).
 */
export function isValidPluginName(name: string): boolean {
  const n = name.length;
  if (n < 1 || n > 64) return false;
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    if (!(isLowerOrDigit(c) || (i > 0 && (c === 0x5f || c === 0x2d)))) return false;
  }
  return true;
}
const isLowerOrDigit = (c: number) => (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
export const isCoreCommand = (name: string): boolean => (CORE_COMMANDS as readonly string[]).includes(name);
/** ^[a-z0-9][a-z0-9._-]*$ by character codes (no RegExp on the dispatch path; test/fastpath.test.ts compares). */
export function isIdentityName(v: string): boolean {
  if (v.length === 0) return false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (!(isLowerOrDigit(c) || (i > 0 && (c === 0x2e || c === 0x5f || c === 0x2d)))) return false;
  }
  return true;
}
/** ^[a-z_][a-z0-9_-]{0,31}$ by character codes (test/fastpath.test.ts compares). */
export function isUserName(v: string): boolean {
  if (v.length === 0 || v.length > 32) return false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (!((c >= 0x61 && c <= 0x7a) || c === 0x5f || (i > 0 && ((c >= 0x30 && c <= 0x39) || c === 0x2d)))) return false;
  }
  return true;
}
// semver.org 2.0.0: MAJOR.MINOR.PATCH, optional -pre-release and +build.
export const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;
/**
 * A semantic version. Fast path: a plain MAJOR.MINOR.PATCH is checked by
 * character codes (the dispatch path's case, no RegExp); anything else, a
 * pre-release or build part or a malformed value, goes to SEMVER, the rule
 * itself (test/fastpath.test.ts: both agree over random versions).
 */
export function isSemver(v: string): boolean {
  let dots = 0;
  for (let i = 0, start = 0; i <= v.length; i++) {
    const c = i < v.length ? v.charCodeAt(i) : 0x2e;
    if (c >= 0x30 && c <= 0x39) continue;
    if (c !== 0x2e) return SEMVER.test(v);
    const len = i - start;
    if (len === 0 || (len > 1 && v.charCodeAt(start) === 0x30)) return false;
    start = i + 1;
    if (++dots > 3) return false;
  }
  return dots === 3;
}

/** Strict decimal id: the whole string, no sign, no leading zero, 1..2^31-1. */
export function isValidId(v: string): boolean {
  // ^[1-9][0-9]{0,9}$ by character codes (no RegExp on the dispatch path; test/fastpath.test.ts compares).
  if (v.length === 0 || v.length > 10 || v.charCodeAt(0) === 0x30) return false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return Number(v) <= 2147483647;
}

/** Returns the problems with the required keys of one contract file (empty: valid). */
export function contractProblems(kind: "image" | "runtime", env: EnvFile): string[] {
  const problems: string[] = [];
  const required = REQUIRED[kind];
  for (let i = 0; i < required.length; i++) if (!env.has(required[i]!)) problems.push(`missing required key ${required[i]}`);
  const bad = (key: string, ok: (v: string) => boolean, what: string) => {
    const v = env.get(key);
    if (v !== undefined && !ok(v)) problems.push(`${key} ${quoteWord(v)} is not ${what}`);
  };
  if (kind === "image") {
    bad("IMAGE_VERSION", isSemver, "a semantic version");
    bad("IMAGE_NAME", isIdentityName, "a name matching ^[a-z0-9][a-z0-9._-]*$");
    bad("IMAGE_DOMAIN", isIdentityName, "a name matching ^[a-z0-9][a-z0-9._-]*$");
    bad("IMAGE_ROLE", isIdentityName, "a name matching ^[a-z0-9][a-z0-9._-]*$");
  } else {
    bad("RUNNER_USER", isUserName, "a user name");
    bad("RUNNER_UID", isValidId, "a decimal id from 1 to 2147483647");
    bad("RUNNER_GID", isValidId, "a decimal id from 1 to 2147483647");
  }
  return problems;
}

/**
 * The dispatch decision, pure: core commands first, then a plugin entry of
 * that exact name, then failure. hasEntry is asked only for valid, non-core names.
 */
export function decide(args: readonly string[], hasEntry: (name: string) => boolean): Decision {
  const first = args[0];
  if (first === undefined) return { kind: "usage", message: "no command given" };
  const rest = args.slice(1);
  if (first === "-h" || first === "--help") return { kind: "core", command: "help", args: rest };
  if (first === "--version") return { kind: "core", command: "version", args: rest };
  if (first.startsWith("-")) return { kind: "usage", message: `unknown option ${quoteWord(first)}; see 'runner help'` };
  if (isCoreCommand(first)) return { kind: "core", command: first, args: rest };
  if (isValidPluginName(first) && hasEntry(first)) return { kind: "plugin", name: first, args: rest };
  return { kind: "unknown", name: first };
}

/** The strings of a NUL-separated /proc file, each as latin1 (one char per byte). */
const procStrings = (bytes: Buffer) => bytes.toString("latin1").split("\0").slice(0, -1);
/** A name for a message: bytes outside [A-Za-z0-9_] shown as '?', never raw. */
const safeName = (latin1: string) => latin1.replace(/[^A-Za-z0-9_]/g, "?");

/**
 * Why the raw environment would make Bun act before runner's first line, or
 * null. The raw environment (/proc/self/environ), not process.env: with two
 * BUN_OPTIONS entries Bun obeys the first while process.env shows the last.
 * BUN_OPTIONS injects options (a --preload runs code); BUN_INSPECT* starts a
 * debugger that can run code inside runner and may listen on the network.
 */
export function bunEnvironmentProblem(environ: Buffer): string | null {
  if (environ.indexOf("BUN_") === -1) return null; // the usual case: one search, no split
  for (const kv of procStrings(environ)) {
    const eq = kv.indexOf("=");
    const name = eq === -1 ? kv : kv.slice(0, eq);
    if (name === "BUN_OPTIONS" && eq !== -1 && eq < kv.length - 1) {
      return "BUN_OPTIONS is set; it can inject code into the Bun runtime, so runner refuses to start; unset it (every BUN_OPTIONS entry of the environment counts)";
    }
    if (name.startsWith("BUN_INSPECT")) {
      return `${safeName(name)} is set; it opens a debugger that can run code inside the Bun runtime, so runner refuses to start; unset it`;
    }
  }
  return null;
}

/**
 * Why the raw argv and environment cannot reach a plugin unchanged, or null
 * (exit code and message). Bun decodes them lossily (a \xff byte becomes
 * U+FFFD) and execve() is handed a name → value record, so bytes that are not
 * UTF-8, a name given twice, and an entry without '=' or without a name could
 * only be passed on changed. runner refuses instead (C-PLUGIN-9, C-PLUGIN-10).
 */
export function rawInputProblem(cmdline: Buffer, environ: Buffer): [code: number, message: string] | null {
  // NUL is valid UTF-8 and ends any sequence, so one decode of the whole file
  // checks every string in it; only a failure needs the strings one by one.
  if (!isValidUtf8(cmdline)) {
    const args = procStrings(cmdline);
    for (let i = 1; i < args.length; i++) {
      if (!isValidUtf8(Buffer.from(args[i]!, "latin1"))) return [EXIT.USAGE, `argument ${i} is not valid UTF-8; runner cannot pass it on unchanged`];
    }
  }
  const environOk = isValidUtf8(environ);
  const seen = new Map<string, boolean>(); // a Map: a first Set costs 0.4 MiB, a Map nothing more
  const entries = procStrings(environ);
  for (let i = 0; i < entries.length; i++) {
    const kv = entries[i]!;
    const eq = kv.indexOf("=");
    const name = eq === -1 ? kv : kv.slice(0, eq);
    if (!environOk && !isValidUtf8(Buffer.from(kv, "latin1"))) {
      return [EXIT.CONFIG, `environment variable '${safeName(name)}' is not valid UTF-8; runner cannot pass it on unchanged`];
    }
    if (eq === -1) return [EXIT.CONFIG, `environment entry ${i + 1} ('${safeName(kv)}') has no '='; runner cannot pass it on unchanged`];
    if (eq === 0) return [EXIT.CONFIG, `environment entry ${i + 1} has an empty name; runner cannot pass it on unchanged`];
    if (seen.has(name)) return [EXIT.CONFIG, `environment variable '${safeName(name)}' is set more than once; runner cannot pass such an environment on unchanged`];
    seen.set(name, true);
  }
  return null;
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
export function readContractFile(path: string, optional: boolean, prefix?: string): EnvFile | null {
  // Fast path, the usual case: an lstat, one read by path, parseEnvFast. The
  // lstat shows a regular file, root's, not writable by others, small enough:
  // then only root can replace it before the read (its folder was checked to
  // be root's and not writable by others first, and O_NOFOLLOW still refuses
  // a link at the open), so the checks hold for what is read
  // (docs/SECURITY.md, "Contract files"). Anything else, and any error, takes
  // the exact path below, which words every refusal.
  let st: Stats | undefined;
  let missing = false;
  try { st = lstatSync(path, { throwIfNoEntry: false }); missing = st === undefined; } catch { /* the exact path says why */ }
  if (missing && optional) return null;
  if (st !== undefined && st.isFile() && st.uid === 0 && (st.mode & 0o022) === 0 && st.size <= MAX_ENV_BYTES) {
    let text: string | null = null;
    // As UTF-8 text, like /proc/self/environ before it (a warm path: 60 µs
    // less than latin1). parseEnvFast accepts ASCII only, so a file it
    // answers for is the same in any decoding; anything else, a syntax error
    // included, is read again by the exact path below, which words it.
    try { text = readFileSync(path, { encoding: "utf8", flag: constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK }); } catch { /* the exact path says why */ }
    const env = text === null ? null : parseEnvFast(text, prefix);
    if (env) return env;
  }
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
      return parseEnv(buf.subarray(0, len), prefix);
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

/** One contract file, read, in its namespace, and with its required keys checked (kind null: tools.env, optional). */
function readContractPart(path: string, kind: "image" | "runtime" | null): EnvFile | null {
  const env = readContractFile(path, kind === null, KEY_PREFIX[kind ?? "tools"]);
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
  // An lstat that shows no link is also the stat: 14 file calls per dispatch instead of 22.
  // (Even where stat is asked: "/" and the folders after a link are lstat()ed
  // first, so dispatch never calls stat, whose first use costs 0.2 MiB.)
  const stat = (p: string, follow: boolean) => {
    let st = seen.get(`false${p}`);
    if (st === undefined) seen.set(`false${p}`, st = lstatSync(p));
    if (follow && st.isSymbolicLink()) {
      st = seen.get(`true${p}`);
      if (st === undefined) seen.set(`true${p}`, st = statSync(p));
    }
    return st;
  };
  const names = (p: string) => {
    const parts = p.split("/");
    const kept: string[] = [];
    for (let i = 0; i < parts.length; i++) if (parts[i] !== "" && parts[i] !== ".") kept.push(parts[i]!);
    return kept;
  };
  let todo = names(path);
  let dir = "/";
  for (let links = 0; todo.length > 0;) {
    const st = stat(dir, true);
    // The message (and quoteWord's RegExp) only when there is a problem.
    if (st.uid !== 0 || st.mode & 0o022) return ownershipProblem(st, `directory ${links ? "of link target " : ""}${quoteWord(dir)}`);
    const name = todo.shift()!;
    // dir holds no links (its parents were checked), so its parent is textual.
    // (Not node:path's dirname: importing node:path costs every start 0.1 ms.)
    if (name === "..") { dir = dir.slice(0, dir.lastIndexOf("/")) || "/"; continue; }
    const next = dir === "/" ? `/${name}` : `${dir}/${name}`;
    if (!stat(next, false).isSymbolicLink()) { dir = next; continue; }
    if (++links > 40) throw Object.assign(new Error("too many links"), { code: "ELOOP" });
    const target = readlinkSync(next);
    if (target.startsWith("/")) dir = "/";
    todo = names(target).concat(todo);
  }
  return null;
}

/**
 * Why runner.d cannot be trusted, or null. A missing runner.d simply holds no
 * plugins. runner.d and every folder above it are checked: a plugin that is
 * not a link is reached through exactly these folders.
 */
function pluginDirProblem(seen: Map<string, Stats> = new Map()): string | null {
  try {
    const st = lstatSync(PLUGIN_DIR);
    if (!st.isDirectory()) return `${PLUGIN_DIR} is a ${fileKind(st)}, not a directory`;
    return ownershipProblem(st, "plugin directory") ?? resolutionProblem(PLUGIN_DIR, seen.set(`false${PLUGIN_DIR}`, st));
  } catch (e) {
    return errCode(e) === "ENOENT" ? null : `${PLUGIN_DIR}: cannot stat: ${errCode(e)}`;
  }
}

/**
 * Everything runner demands of a plugin before it execs it (checkCaps: also
 * its file capabilities, which costs a libc load). stat() never
 * opens the file, so FIFOs and devices cannot block us. The final target and
 * every folder on the way to it must be root's: whoever may write there decides what runs.
 */
export function inspectPlugin(name: string, dirProblem: string | null, seen?: Map<string, Stats>, checkCaps = true, lstat?: Stats): PluginEntry {
  const path = `${PLUGIN_DIR}/${name}`;
  const entry = (status: PluginStatus, reason: string): PluginEntry => ({ name, path, status, reason });
  if (!isValidPluginName(name)) return entry("invalid-name", `name does not match ${PLUGIN_NAME_RULE}`);
  if (isCoreCommand(name)) return entry("shadowed-by-core", `'${name}' is a core command; this file never runs`);
  let link: Stats, st: Stats;
  try {
    link = lstat ?? lstatSync(path);
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
  if (checkCaps) {
    const caps = fileCapabilityProblem(path);
    if (caps) return entry("unsafe-permissions", caps);
  }
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

/**
 * Every entry of runner.d, sorted by its raw bytes (stable across locales).
 * Names are read as bytes: a name that is not UTF-8 keeps its bytes
 * (nameBytes) instead of collapsing into U+FFFD.
 */
export function listPlugins(): PluginEntry[] {
  let names: Buffer[];
  try {
    names = readdirSync(PLUGIN_DIR, { encoding: "buffer" });
  } catch (e) {
    if (errCode(e) === "ENOENT") return [];
    throw new RunnerError(EXIT.CONFIG, `${PLUGIN_DIR}: cannot list: ${errCode(e)}`);
  }
  const dirProblem = pluginDirProblem();
  const seen = new Map<string, Stats>();
  // latin1 gives one character per byte, so the default string sort is the
  // byte order, without a comparator called from the sort (10,000 entries).
  const keys = names.map((raw) => raw.toString("latin1")).sort();
  const entries: PluginEntry[] = new Array(keys.length);
  for (let i = 0; i < keys.length; i++) {
    // A valid plugin name is ASCII: its latin1 key is the name (the usual case).
    if (isValidPluginName(keys[i]!)) { entries[i] = inspectPlugin(keys[i]!, dirProblem, seen); continue; }
    const raw = Buffer.from(keys[i]!, "latin1");
    if (isValidUtf8(raw)) { entries[i] = inspectPlugin(raw.toString("utf8"), dirProblem, seen); continue; }
    // Not UTF-8, so not a valid plugin name: nothing to stat.
    entries[i] = { ...inspectPlugin(raw.toString("utf8"), dirProblem, seen), nameBytes: raw };
  }
  return entries;
}

// ------------------------------------------- the process: /proc, libc, descriptors

function readProc(path: string): Buffer {
  try { return readFileSync(path); }
  catch (e) { throw new RunnerError(EXIT.SOFTWARE, `cannot read ${path}: ${errCode(e)}`); }
}

/** The same, decoded as UTF-8, lossily: every invalid sequence becomes U+FFFD. */
function readProcText(path: string): string {
  try { return readFileSync(path, "utf8"); }
  catch (e) { throw new RunnerError(EXIT.SOFTWARE, `cannot read ${path}: ${errCode(e)}`); }
}

let libc: Libc | null = null;

/**
 * libc through bun:ffi, loaded on first use only: node:fs has no fcntl,
 * execve that keeps descriptors, or getxattr. Loading costs about 0.2 ms and
 * 3 MiB of peak RSS (docs/PERFORMANCE.md), so the common dispatch path (no
 * descriptor to pass) never loads it; a static import would cost every start.
 */
function loadLibc(): Libc {
  if (libc) return libc;
  try {
    const { dlopen, read, ptr } = require("bun:ffi");
    const { symbols: f } = dlopen("libc.so.6", {
      fcntl: { args: ["i32", "i32", "i32"], returns: "i32" },
      getxattr: { args: ["ptr", "ptr", "ptr", "u64"], returns: "i64" },
      sigprocmask: { args: ["i32", "ptr", "ptr"], returns: "i32" },
      execve: { args: ["ptr", "ptr", "ptr"], returns: "i32" },
      __errno_location: { args: [], returns: "ptr" },
    });
    libc = {
      fcntl: (fd, cmd, arg) => f.fcntl(fd, cmd, arg),
      getxattr: (path, name) => Number(f.getxattr(path, name, null, 0)),
      sigprocmask: (how, set) => f.sigprocmask(how, set, null),
      execve: (path, argv, envp) => f.execve(path, argv, envp),
      address: (buf) => ptr(buf),
      errno: () => read.i32(f.__errno_location(), 0),
    };
    return libc;
  } catch (e) {
    throw new RunnerError(EXIT.SOFTWARE, `cannot load libc through bun:ffi: ${String((e as Error)?.message ?? e).split("\n")[0]}`);
  }
}

const cString = (s: string) => Buffer.from(`${s}\0`);

let CAPABILITY_ATTR: Buffer | null = null; // built once: a listing asks for every entry

/**
 * Why the file a path finally resolves to could run with more privilege than
 * its caller, or null: a security.capability attribute (file capabilities:
 * setuid by another route). getxattr follows links: the kernel takes the
 * capabilities of the file it executes, the final target.
 */
function fileCapabilityProblem(path: string): string | null {
  const c = loadLibc();
  const size = c.getxattr(cString(path), CAPABILITY_ATTR ??= cString("security.capability"));
  if (size >= 0) return "file capabilities set (security.capability): plugins never run privileged";
  const errno = c.errno();
  if (errno === ENODATA || errno === ENOTSUP) return null;
  return `cannot read its file capabilities (errno ${errno}): refused, as it might be privileged`;
}

/** Whether the kernel's no_new_privs flag is set (/proc/self/status): then no setuid bit or file capability grants anything. */
function noNewPrivs(): boolean {
  return /^NoNewPrivs:\s*1$/m.test(readProcText("/proc/self/status"));
}

/**
 * The descriptors the caller passed, above 2. Bun marks every one of them
 * close-on-exec at start-up (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC)) and
 * then creates its event loop's eventpoll and eventfd, at the lowest free
 * numbers. Those two kinds are Bun's: every other open descriptor was there
 * before runner's first line (runner itself holds none open when it asks),
 * so it is the caller's. docs/ARCHITECTURE.md, "Descriptors", says why.
 */
export function callerDescriptors(): number[] {
  // Since Linux 6.2 the size of /proc/self/fd is the number of open
  // descriptors: 0-2 and Bun's two mean there is nothing to pass, and one
  // stat spares the common path a listing. 0 (older kernels): list.
  // lstat, not stat: the same answer here (/proc/self is followed on the
  // way, fd is a directory), and runner has used lstat already: a first
  // stat costs 0.2 MiB of peak RSS more.
  if (lstatSync("/proc/self/fd").size === 3 + BUN_OWN_DESCRIPTORS) return [];
  const fds: number[] = [];
  for (const name of readdirSync("/proc/self/fd")) {
    const fd = Number(name);
    if (fd <= 2) continue;
    let target: string;
    try { target = readlinkSync(`/proc/self/fd/${name}`); } catch { continue; } // the listing's own descriptor, closed by now
    if (target === "anon_inode:[eventpoll]" || target === "anon_inode:[eventfd]") continue;
    fds.push(fd);
  }
  return fds;
}

/**
 * execve() through libc, keeping the caller's descriptors: Bun's own
 * process.execve marks every descriptor above 2 close-on-exec again
 * (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC)) just before it calls execve, so
 * it cannot pass them. This does what it does otherwise: descriptors 0-2 and
 * the caller's open across exec, an empty signal mask. Returns the errno
 * name only if execve failed.
 */
function execveKeeping(fds: readonly number[], path: string, argv: readonly string[], env: Record<string, string>): string {
  const c = loadLibc();
  for (const fd of [0, 1, 2, ...fds]) {
    if (c.fcntl(fd, F_SETFD, 0) === -1 && fd > 2) {
      throw new RunnerError(EXIT.SOFTWARE, `cannot pass descriptor ${fd} on: fcntl failed (errno ${c.errno()})`);
    }
  }
  // Every string must stay referenced until execve: the arrays hold only addresses.
  const keep = [path, ...argv, ...Object.entries(env).map(([k, v]) => `${k}=${v}`)].map((s) => Buffer.from(`${s}\0`));
  const vector = (from: number, to: number) => {
    const v = new BigUint64Array(to - from + 1); // NULL-terminated
    for (let i = from; i < to; i++) v[i - from] = BigInt(c.address(keep[i]!));
    return v;
  };
  const argvVector = vector(1, 1 + argv.length);
  const envVector = vector(1 + argv.length, keep.length);
  c.sigprocmask(2 /* SIG_SETMASK */, new Uint8Array(128));
  c.execve(keep[0]!, argvVector, envVector);
  const errno = c.errno();
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

/**
 * The usual case of rawInputProblem's environment checks, on the environment
 * as text already known to be UTF-8: true when every entry has a name, an
 * '=' and a name of its own. Why a second copy: dispatch then needs no
 * Buffer at all (the first one costs 0.12 ms, docs/PERFORMANCE.md). It only
 * says "nothing to refuse"; anything else goes to rawInputProblem, which
 * words the refusal. test/fastpath.test.ts checks that the two agree.
 */
export function environmentShapeOk(text: string): boolean {
  const entries = text.split("\0");
  const seen = new Map<string, boolean>();
  for (let i = 0; i < entries.length - 1; i++) {
    const eq = entries[i]!.indexOf("=");
    if (eq <= 0) return false;
    const name = entries[i]!.slice(0, eq);
    if (seen.has(name)) return false;
    seen.set(name, true);
  }
  return true;
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
  if (args.length > 1 || (args.length === 1 && args[0] !== "--json")) {
    throw new RunnerError(EXIT.USAGE, `version: unexpected argument ${quoteWord(args.find((a) => a !== "--json") ?? args[1]!)} (usage: runner version [--json])`);
  }
  // The build facts an auditor compares with the sources: the Bun runtime
  // compiled in (Bun.version is that runtime's own) and the source's digest.
  if (args.length) out(JSON.stringify({ version: VERSION, bun: Bun.version, source_sha256: SOURCE_SHA256 }, null, 2));
  else out(`runner ${VERSION}`);
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
    `${title}:\n${m.size ? [...m].map(([k, v]) => `  ${k}=${escapeText(v)}`).join("\n") : "  (none)"}`;
  out([section("image", c.image), section("runtime", c.runtime), section("tools", c.tools)].join("\n"));
  return EXIT.OK;
}

/** A runner.d entry's name for people: escaped, and from its bytes when it is not UTF-8. */
const displayName = (e: PluginEntry): string => (e.nameBytes ? showBytes(e.nameBytes) : escapeText(e.name));

function cmdPlugins(args: readonly string[]): number {
  const json = takeJsonFlag("plugins", args);
  loadContract();
  const entries = listPlugins();
  if (json) {
    // JSON is lossless: a name that is not UTF-8 also gives its bytes in hex.
    out(JSON.stringify({
      plugins: entries.map(({ name, path, status, reason, nameBytes }) =>
        nameBytes ? { name, name_bytes: Buffer.from(nameBytes).toString("hex"), path, status, reason } : { name, path, status, reason }),
    }, null, 2));
    return EXIT.OK;
  }
  if (!entries.length) { out(`no plugins in ${PLUGIN_DIR}/`); return EXIT.OK; }
  const shown = entries.map((e) => (isValidPluginName(e.name) ? e.name : `'${displayName(e)}'`));
  const width = Math.max(4, ...shown.map((n) => n.length));
  out(entries.map((e, i) => `${shown[i]!.padEnd(width)}  ${e.status.padEnd(18)}  ${e.reason}`.trimEnd()).join("\n"));
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
  const home = process.env.HOME;
  const homeProblem = home === undefined || home === "" ? "HOME is not set"
    : (() => {
      try {
        if (!statSync(home).isDirectory()) return `HOME ${quoteWord(home)} is not a directory`;
        accessSync(home, constants.W_OK);
        return null;
      } catch (e) { return `HOME ${quoteWord(home)} is not a writable directory (${errCode(e)})`; }
    })();
  add("home", homeProblem ? "WARN" : "PASS", homeProblem
    ? `${homeProblem}: tools that keep state there fail (with a read-only root file system, point HOME at a writable folder such as /tmp; see C-HOME-1)`
    : `HOME ${quoteWord(home!)} is a writable directory`);
  const nnp = noNewPrivs();
  add("no-new-privs", nnp ? "PASS" : "WARN", nnp
    ? "no_new_privs is set: no plugin, nor anything it runs, can gain privilege through setuid bits or file capabilities"
    : "no_new_privs is not set: run with --security-opt no-new-privileges (docker, podman) or allowPrivilegeEscalation: false (Kubernetes)");
  const pdir = pluginDirProblem();
  add("plugin-dir", pdir ? "FAIL" : "PASS", pdir ?? `${PLUGIN_DIR} is root's and not writable by others (or absent)`);
  try {
    for (const p of listPlugins()) {
      add(`plugin:${displayName(p)}`, p.status === "ok" ? "PASS" : "FAIL", p.status === "ok" ? "ok" : `${p.status}: ${p.reason}`);
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
function execPlugin(name: string, args: readonly string[], environText: string, entry?: Stats): never {
  loadContract();
  // The raw argv and environment as text: without a U+FFFD they are UTF-8,
  // and then only the environment's shape is left to check. Otherwise the
  // exact byte-based checks decide (and word any refusal).
  const cmdlineText = readProcText("/proc/self/cmdline");
  const usual = cmdlineText.indexOf("\ufffd") === -1 && environText.indexOf("\ufffd") === -1 && environmentShapeOk(environText);
  const raw = usual ? null : rawInputProblem(readProc("/proc/self/cmdline"), readProc("/proc/self/environ"));
  if (raw) throw new RunnerError(raw[0], raw[1]);
  // File capabilities are not read here: that needs libc (bun:ffi), about
  // 0.2 ms and 3 MiB on every dispatch; `plugins` and `check` read them, and
  // no_new_privs makes the kernel ignore them (C-PLUGIN-12, SECURITY.md).
  // The plugin's lstat from the lookup (step 4) is reused: runner.d is root's.
  const plugin = inspectPlugin(name, pluginDirProblem(), undefined, false, entry);
  if (plugin.status !== "ok") {
    throw new RunnerError(EXIT.CANNOT_EXEC, `plugin '${name}' refused (${plugin.status}): ${plugin.reason}`);
  }
  // The caller's environment in its own order (the raw one: checked above to
  // be UTF-8, one entry per name), runner's two variables replacing the caller's.
  const env: Record<string, string> = {};
  const entries = environText.split("\0");
  for (let i = 0; i < entries.length - 1; i++) {
    const eq = entries[i]!.indexOf("=");
    env[entries[i]!.slice(0, eq)] = entries[i]!.slice(eq + 1);
  }
  env.RUNNER_PLUGIN = name;
  env.RUNNER_VERSION = VERSION;
  // Bun ignores SIGPIPE and SIGXFSZ, and execve keeps ignored dispositions;
  // a caught signal is reset to default by execve, so catching them here
  // hands the plugin the dispositions a shell would.
  const noop = () => {};
  process.on("SIGPIPE", noop);
  process.on("SIGXFSZ", noop);
  const argv = [plugin.path].concat(args);
  // Last, when runner holds no descriptor of its own: what is open above 2 is the caller's or Bun's.
  const fds = callerDescriptors();
  let code: string;
  if (fds.length) {
    code = execveKeeping(fds, plugin.path, argv, env);
  } else {
    try {
      process.execve!(plugin.path, argv, env);
      code = "returned";
    } catch (e) {
      code = errCode(e);
    }
    // Node's "execve is experimental" warning would land on stderr after a
    // failed exec. It is emitted on the next tick, so silencing it here, only
    // on failure, is enough: removing the listeners before every exec cost
    // 0.27 ms of CPU (docs/PERFORMANCE.md).
    process.removeAllListeners("warning");
  }
  throw new RunnerError(code === "ENOENT" ? EXIT.NOT_FOUND : EXIT.CANNOT_EXEC, `plugin '${name}': execve ${plugin.path} failed: ${code}`);
}

const COMMANDS: Record<string, (args: readonly string[]) => number> = {
  help: cmdHelp, version: cmdVersion, info: cmdInfo, plugins: cmdPlugins, check: cmdCheck,
};

/** Steps 1 to 6 of docs/CONTRACT.md ("Order of evaluation"), in order. Returns the exit code or throws. */
export function run(args: readonly string[]): number {
  // 1. Never as root: not for `version`, not for `help`.
  if (process.getuid!() === 0 || process.geteuid!() === 0) {
    throw new RunnerError(EXIT.NOPERM, "refusing to run as root (uid 0); run as a non-root user, e.g. --user 10001");
  }
  // 2. Bun acts on these before runner's first line; refuse to go on under them.
  // Read as text (no Buffer on the usual path); a "BUN_" anywhere sends the
  // exact byte-based check over the raw bytes.
  const environText = readProcText("/proc/self/environ");
  const bun = environText.indexOf("BUN_") === -1 ? null : bunEnvironmentProblem(readProc("/proc/self/environ"));
  if (bun) throw new RunnerError(EXIT.CONFIG, bun);
  // 3-4. Option, core command, or the lookup of exactly one plugin name.
  let entry: Stats | undefined; // the plugin's lstat, reused by its checks in step 5
  const decision = decide(args, (name) => {
    try { entry = lstatSync(`${PLUGIN_DIR}/${name}`); return true; } catch (e) {
      const code = errCode(e);
      if (code === "ENOENT") return false;
      // Not "unknown command": the name might be there; say why we cannot tell.
      throw new RunnerError(EXIT.CONFIG, `${PLUGIN_DIR}: cannot look up ${quoteWord(name)}: ${code}${code === "EACCES" ? " (runner.d must be searchable by the caller)" : ""}`);
    }
  });
  // 5-6. (execPlugin) the contract, the raw input, the plugin's checks, execve.
  switch (decision.kind) {
    case "usage":
      // The usage only when nothing was asked; any other error stays one line (C-OUT-1).
      if (args.length === 0) err(USAGE);
      throw new RunnerError(EXIT.USAGE, decision.message);
    case "core":
      return COMMANDS[decision.command]!(decision.args);
    case "plugin":
      return execPlugin(decision.name, decision.args, environText, entry);
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
