import assert from "node:assert/strict";
import { test } from "node:test";
import { portIsFree, request, sandbox } from "../helpers.js";

const app = (names) => `
import { App } from "nodal";
export const app = new App("ports");
${names.map((n) => `export const ${n} = app.webApp({}, () => (_req: any, res: any) => res.end("${n}"));`).join("\n")}
`;

async function urls(box) {
  const [rec] = JSON.parse((await box.run(["app", "list", "--json"])).stdout);
  return rec.urls;
}

test("serve: a web function deleted and added back comes back on the port it had", async (t) => {
  const box = sandbox(t, { "app.ts": app(["a", "b", "c"]) });
  // Within this test's own range of ports, below the ephemeral range outgoing connections use.
  const base = Number(box.env.NODAL_BASE_PORT) + 50;
  const serve = box.spawn(["serve", "app.ts", "--port", String(base)]);
  await serve.waitFor(/ready in/);
  const before = await urls(box);
  assert.deepEqual(Object.keys(before).sort(), ["a", "b", "c"]);
  box.write({ "app.ts": app(["a", "c"]) });
  await serve.waitFor(/reloaded v2/);
  assert.deepEqual(Object.keys(await urls(box)).sort(), ["a", "c"]);
  // A function added meanwhile does not take the removed one's port.
  box.write({ "app.ts": app(["a", "c", "d"]) });
  await serve.waitFor(/reloaded v3/);
  const withD = await urls(box);
  assert.notEqual(withD.d, before.b);
  box.write({ "app.ts": app(["a", "b", "c", "d"]) });
  await serve.waitFor(/reloaded v4/);
  const after = await urls(box);
  assert.equal(after.a, before.a);
  assert.equal(after.c, before.c);
  // Another program on this machine may have bound the port while "b" was gone: then it holds it still.
  if (after.b !== before.b) assert.equal(await portIsFree(Number(new URL(before.b).port)), false, `${before.b} was free, yet "b" came back on ${after.b}`);
  else assert.equal((await request(after.b)).body, "b");
});
