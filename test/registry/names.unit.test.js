import assert from "node:assert/strict";
import { test } from "node:test";
import { checkName, isValidName } from "../../dist/modules/sdk/names.js";
import { checkOptions } from "../../dist/modules/sdk/options.js";

test("names made only of dots are never valid; other names follow Modal's rule", () => {
  for (const bad of [".", "..", "...", "", "a b", "a/b", "x".repeat(65), "é", 3, null, undefined]) {
    assert.equal(isValidName(bad), false, JSON.stringify(bad));
    assert.throws(() => checkName("volume", bad), /invalid volume name/);
  }
  for (const good of ["a", ".a", "a.", "a..b", "..a", "_", "-", "x".repeat(64), "todo-data.v2"]) {
    assert.equal(isValidName(good), true, good);
    assert.equal(checkName("app", good), good);
  }
  assert.throws(() => checkName("secret", ".."), { message: 'invalid secret name "..": use 1 to 64 characters from a-z, A-Z, 0-9, ".", "_" and "-", not only dots' });
});

test("a function's name follows the same rule", () => {
  assert.deepEqual(checkOptions("function", { name: "ok.name" }), []);
  for (const bad of ["..", ".", "a b"]) {
    const problems = checkOptions("function", { name: bad });
    assert.equal(problems.length, 1, bad);
    assert.match(problems[0], /^name ".*" is invalid: use 1 to 64 characters .* not only dots$/);
  }
});
