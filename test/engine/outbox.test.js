// Calls and results between an engine and its workers travel in batches (one IPC message per
// turn of the event loop): what goes wrong for one call stays with that call.
import assert from "node:assert/strict";
import { test } from "node:test";
import { sandbox } from "../helpers.js";

const app = `import { App } from "nodal";
export const app = new App("batches");
export const square = app.function({ concurrency: 50 }, async (x: number) => {
  if (x === 13) return { f: () => 13 }; // a result that cannot be cloned
  return { x, sq: x * x };
});
export const fan = app.function({}, async () => {
  // Posted in one turn: the worker sends them to the engine together, and so on down.
  const calls = Array.from({ length: 40 }, (_, i) => square.remote(i === 7 ? (() => 7) as unknown as number : i));
  const settled = await Promise.allSettled(calls);
  return settled.map((s) => (s.status === "fulfilled" ? s.value : { error: (s.reason as Error).message }));
});
`;

test("forty calls made in one turn: each gets its own result, and only the two that cannot cross fail", async (t) => {
  const box = sandbox(t, { "app.ts": app });
  const res = await box.run(["run", "app.ts::fan"], { timeoutMs: 60_000 });
  assert.equal(res.code, 0, res.stderr);
  const out = JSON.parse(res.stdout);
  assert.equal(out.length, 40);
  for (const [i, r] of out.entries()) {
    if (i === 7) assert.match(r.error, /function "square": an argument cannot cross a process boundary/);
    else if (i === 13) assert.match(r.error, /function "square": its result cannot cross a process boundary/);
    else assert.deepEqual([r.x, r.sq], [i, i * i]);
  }
});
