// The Bun floor: the least a Bun executable can do in front of a plugin.
// bench/bench.ts builds it with the same bun and the same HARDENING_FLAGS as
// dist/runner; it only replaces itself with its first argument. What runner
// costs above this is runner's own; below it is Bun's start-up.
const [target, ...args] = process.argv.slice(2);
if (target === undefined) process.exit(64);
process.execve!(target, [target, ...args], process.env as Record<string, string>);
