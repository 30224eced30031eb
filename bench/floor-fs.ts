// A diagnostic, not a target: the Bun floor plus loading node:fs, the module
// runner needs to read its contract. The difference between this and
// bench/floor.ts is the price of node:fs in Bun itself; what runner costs
// above this is its own logic. Built like the floor (bench/bench.ts).
import { fstatSync } from "node:fs";

const [target, ...args] = process.argv.slice(2);
// One call, so that the import cannot be dropped as unused.
if (target === undefined) process.exit(fstatSync(0).isFile() ? 64 : 65);
process.execve!(target, [target, ...args], process.env as Record<string, string>);
