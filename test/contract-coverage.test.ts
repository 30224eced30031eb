// The architecture's rule: a contract rule without a test is not enforced.
import { expect, test } from "bun:test";
import { citations, contractRules, currentMap, renderMap } from "../scripts/rule-map.ts";

test("every rule in docs/CONTRACT.md is cited by at least one test name", () => {
  const rules = contractRules();
  expect(rules.length).toBeGreaterThan(50);
  const cited = citations();
  expect(rules.filter((id) => !cited.has(id))).toEqual([]);
});

test("every rule a test cites exists in docs/CONTRACT.md", () => {
  const rules = new Set(contractRules());
  expect([...citations().keys()].filter((id) => !rules.has(id))).toEqual([]);
});

test("the rule → test map in docs/TESTING.md is current (bun scripts/rule-map.ts --write)", () => {
  expect(currentMap()).toBe(renderMap());
});
