import assert from "node:assert/strict";
import { readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { alive, pidsWithHome, request, sandbox, waitUntil } from "../helpers.js";

const app = (name) => `import { App } from "nodal";
export const app = new App("${name}");
export const hello = app.webEndpoint({}, async () => ({ app: "${name}" }));
`;

async function deploy(box, file) {
  const res = await box.run(["deploy", file, "--json"], { timeoutMs: 60_000 });
  assert.equal(res.code, 0, res.stderr);
  return JSON.parse(res.stdout);
}

test("a damaged record of a stopped app is reported in one line and skipped; every other app keeps working", async (t) => {
  const box = sandbox(t, { "one.ts": app("one"), "three.ts": app("three") });
  const one = await deploy(box, "one.ts");
  const three = await deploy(box, "three.ts");
  assert.equal((await box.run(["app", "stop", "one"])).code, 0);
  const recordOf = (id) => join(box.home, "apps", `${id}.json`);
  writeFileSync(recordOf(one.id), "null\n");

  const expected = [`warning: skipped damaged app record ${one.id}.json (not an app record: null)`];
  const list = await box.run(["app", "list"]);
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(list.stderr.split("\n").filter(Boolean), expected);
  assert.match(list.stdout, new RegExp(`^${three.id}\\s+three\\s+deployed\\s+v1\\s`, "m"));
  const json = await box.run(["app", "list", "--json"]);
  assert.deepEqual(JSON.parse(json.stdout).map((a) => a.name), ["three"]);

  // Every other app keeps working: logs, a redeploy, a request.
  const logs = await box.run(["app", "logs", "three"]);
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stdout, /deployed v1/);
  box.write({ "three.ts": app("three").replace('app: "three"', 'app: "three-v2"') });
  const redeploy = await box.run(["deploy", "three.ts", "--json"], { timeoutMs: 60_000 });
  assert.equal(redeploy.code, 0, redeploy.stderr);
  assert.deepEqual(redeploy.stderr.split("\n").filter((l) => l.startsWith("warning:")), expected, "reported once");
  const again = JSON.parse(redeploy.stdout);
  assert.equal(again.version, 2);
  assert.deepEqual(JSON.parse((await request(again.urls.hello)).body), { app: "three-v2" });
  await box.run(["app", "stop", "three"]);
  assert.deepEqual(pidsWithHome(box.home), []);
});

test("a damaged record never hides a running app: its supervisor writes it again, and deploy, list and stop find it", async (t) => {
  const box = sandbox(t, { "one.ts": app("one"), "two.ts": app("two") });
  const one = await deploy(box, "one.ts");
  const two = await deploy(box, "two.ts");
  const recordOf = (id) => join(box.home, "apps", `${id}.json`);
  const pidOf = (id) => JSON.parse(readFileSync(recordOf(id), "utf8")).pid;
  const pids = { one: pidOf(one.id), two: pidOf(two.id) };
  writeFileSync(recordOf(one.id), "null\n");
  truncateSync(recordOf(two.id), 60); // as a crash of a non-atomic write would leave it

  const list = await box.run(["app", "list", "--json"]);
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(
    list.stderr.split("\n").filter(Boolean).sort(),
    [one, two].map((a) => `note: app record ${a.id}.json was damaged; its running supervisor (pid ${pidOf(a.id)}) wrote it again`).sort(),
  );
  assert.deepEqual(JSON.parse(list.stdout).map((a) => [a.name, a.state]).sort(), [["one", "deployed"], ["two", "deployed"]]);

  // A redeploy of an app whose record was damaged swaps into its live supervisor (same port).
  truncateSync(recordOf(two.id), 60);
  box.write({ "two.ts": app("two").replace('app: "two"', 'app: "two-v2"') });
  const redeploy = await box.run(["deploy", "two.ts", "--json"], { timeoutMs: 60_000 });
  assert.equal(redeploy.code, 0, redeploy.stderr);
  const again = JSON.parse(redeploy.stdout);
  assert.equal(again.id, two.id);
  assert.equal(again.urls.hello, two.urls.hello);
  assert.deepEqual(JSON.parse((await request(again.urls.hello)).body), { app: "two-v2" });

  // app stop finds them by name right after the damage, even a record that is only `null`.
  writeFileSync(recordOf(one.id), "null\n");
  truncateSync(recordOf(two.id), 60);
  for (const [name, a] of [["one", one], ["two", two]]) {
    const stop = await box.run(["app", "stop", name]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(stop.stdout, new RegExp(`Stopped app ${name} \\(${a.id}\\)`));
  }
  await waitUntil(() => !alive(pids.one) && !alive(pids.two), { what: "both supervisors to exit" });
  const after = JSON.parse((await box.run(["app", "list", "--json"])).stdout);
  assert.deepEqual(Object.fromEntries(after.map((a) => [a.name, a.state])), { one: "stopped", two: "stopped" });
  assert.deepEqual(pidsWithHome(box.home), []);
});
