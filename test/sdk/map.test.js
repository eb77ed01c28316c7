// .map options, .starmap and .forEach through real workers (`nodal run`).
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { sandbox } from "../helpers.js";

// `step(name, after?)` ends only once the call named `after` ended: the order in which calls end
// is set by the inputs, not by timing. Names starting with "bad" throw.
const app = `import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { App } from "nodal";
export const app = new App("maps");
export const step = app.function({}, async (name: string, after?: string) => {
  const dir = process.env.GATE_DIR!;
  const deadline = Date.now() + 20_000;
  while (after && !existsSync(join(dir, after))) {
    if (Date.now() > deadline) throw new Error("gave up waiting for " + after);
    await new Promise((r) => setTimeout(r, 10));
  }
  if (name.startsWith("bad")) throw new RangeError("bad input " + name);
  writeFileSync(join(dir, name), "");
  return name;
});
const show = (v: unknown) => (v instanceof Error ? "error " + v.name + ": " + v.message : v);
async function collect(it: AsyncIterable<unknown>) {
  const out: unknown[] = [];
  for await (const v of it) out.push(show(v));
  return out;
}
app.localEntrypoint(async () => {
  const dir = process.env.GATE_DIR!;
  const out: Record<string, unknown> = {};
  out.ordered = await collect(step.starmap([["a1", "b1"], ["b1"]]));
  out.unordered = await collect(step.starmap([["a2", "b2"], ["b2"]], { orderOutputs: false }));
  out.exceptions = await collect(step.map(["x", "bad1"], { returnExceptions: true }));
  try { await collect(step.map(["bad2", "y"])); } catch (e) { out.thrown = show(e); }
  await step.forEach(["f1", "f2", "f3"]);
  out.forEachRan = ["f1", "f2", "f3"].filter((n) => existsSync(join(dir, n)));
  try { await step.forEach(["g1", "bad3"]); } catch (e) { out.forEachThrown = show(e); }
  out.ignored = await step.forEach(["bad4"], { ignoreExceptions: true }) ?? "resolved";
  console.log(JSON.stringify(out));
});
`;

test("map and starmap yield in input order or as calls end, errors thrown or yielded; forEach runs every input", async (t) => {
  const box = sandbox(t, { "app.ts": app });
  const gates = join(box.dir, "gates");
  mkdirSync(gates);
  const res = await box.run(["run", "app.ts"], { env: { GATE_DIR: gates }, timeoutMs: 60_000 });
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(JSON.parse(res.stdout.trim().split("\n").at(-1)), {
    ordered: ["a1", "b1"],
    unordered: ["b2", "a2"],
    exceptions: ["x", "error RangeError: bad input bad1"],
    thrown: "error RangeError: bad input bad2",
    forEachRan: ["f1", "f2", "f3"],
    forEachThrown: "error RangeError: bad input bad3",
    ignored: "resolved",
  });
});
