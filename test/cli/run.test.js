import assert from "node:assert/strict";
import { test } from "node:test";
import { functions } from "../fixtures/apps.js";
import { pidsWithHome, sandbox } from "../helpers.js";

test("run FILE::fn --input runs the function in a worker and prints its result as JSON", async (t) => {
  const box = sandbox(t, { "app.ts": functions });
  const res = await box.run(["run", "app.ts::square", "--input", "9"]);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout, "squaring 9\n81\n");
  assert.deepEqual(pidsWithHome(box.home), []);
});

test("run FILE runs the local entrypoint with ARGS; .remote() inside it reaches a worker", async (t) => {
  const box = sandbox(t, { "app.ts": functions });
  const res = await box.run(["run", "app.ts", "--", "a", "b"]);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /^args: a,b$/m);
  assert.match(res.stdout, /^squaring 7$/m);
  assert.match(res.stdout, /^remote: 49$/m);
});

test("a function that throws: its message is printed and the exit code is 1", async (t) => {
  const box = sandbox(t, { "app.ts": functions });
  const res = await box.run(["run", "app.ts::boom"]);
  assert.equal(res.code, 1);
  assert.match(res.stderr, /^Error: kaboom: bad thing$/m);
  assert.doesNotMatch(res.stderr, /looks like a bug/);
});

test("--input that is not JSON is a user error", async (t) => {
  const box = sandbox(t, { "app.ts": functions });
  const res = await box.run(["run", "app.ts::square", "--input", "{nope"]);
  assert.equal(res.code, 1);
  assert.match(res.stderr, /--input is not valid JSON/);
});

test("a result that cannot cross a process boundary is a clear error naming the function", async (t) => {
  const box = sandbox(t, {
    "app.ts": `import { App } from "nodal";
export const app = new App("clone");
export const leaky = app.function({}, async () => ({ f: () => 1 }));
`,
  });
  const res = await box.run(["run", "app.ts::leaky"]);
  assert.equal(res.code, 1);
  assert.match(res.stderr, /function "leaky": its result cannot cross a process boundary/);
});

test("run with several functions and no entrypoint says which to pick", async (t) => {
  const box = sandbox(t, {
    "app.ts": `import { App } from "nodal";
export const app = new App("two");
export const a = app.function({}, async () => 1);
export const b = app.function({}, async () => 2);
`,
  });
  const res = await box.run(["run", "app.ts"]);
  assert.equal(res.code, 1);
  assert.match(res.stderr, /has no local entrypoint and 2 functions/);
  assert.match(res.stderr, /app\.ts::a, app\.ts::b/);
});
