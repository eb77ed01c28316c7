import assert from "node:assert/strict";
import { readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { pidsWithHome, request, sandbox, waitUntil } from "../helpers.js";

const app = (name) => `import { App } from "nodal";
export const app = new App("${name}");
export const hello = app.webEndpoint({}, async () => ({ app: "${name}" }));
`;

async function deploy(box, file) {
  const res = await box.run(["deploy", file, "--json"], { timeoutMs: 60_000 });
  assert.equal(res.code, 0, res.stderr);
  return JSON.parse(res.stdout);
}

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test("damaged records are reported in one line each and skipped; their live supervisors can still be stopped", async (t) => {
  const box = sandbox(t, { "one.ts": app("one"), "two.ts": app("two"), "three.ts": app("three") });
  const one = await deploy(box, "one.ts");
  const two = await deploy(box, "two.ts");
  const three = await deploy(box, "three.ts");
  const recordOf = (id) => join(box.home, "apps", `${id}.json`);
  const pidOf = (id) => JSON.parse(readFileSync(recordOf(id), "utf8")).pid;
  const pids = { one: pidOf(one.id), two: pidOf(two.id) };

  writeFileSync(recordOf(one.id), "null\n");
  truncateSync(recordOf(two.id), 60); // past `"name": "two"`, as a crash of a non-atomic write would leave it

  const list = await box.run(["app", "list"]);
  assert.equal(list.code, 0, list.stderr);
  const expected = [
    `warning: skipped damaged app record ${one.id}.json (not an app record: null)`,
    `warning: skipped damaged app record ${two.id}.json (not valid JSON: truncated or overwritten)`,
  ].sort();
  assert.deepEqual(list.stderr.split("\n").filter(Boolean).sort(), expected);
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
  assert.deepEqual(redeploy.stderr.split("\n").filter((l) => l.startsWith("warning:")).sort(), expected, "each damaged record reported once");
  const again = JSON.parse(redeploy.stdout);
  assert.equal(again.version, 2);
  assert.deepEqual(JSON.parse((await request(again.urls.hello)).body), { app: "three-v2" });

  // The truncated record still names its app; the null one is stopped by its id.
  const stopTwo = await box.run(["app", "stop", "two"]);
  assert.equal(stopTwo.code, 0, stopTwo.stderr);
  assert.match(stopTwo.stdout, new RegExp(`Stopped app two \\(${two.id}\\)`));
  await waitUntil(() => !alive(pids.two), { what: "two's supervisor to exit" });
  const byName = await box.run(["app", "stop", "one"]);
  assert.equal(byName.code, 1);
  assert.match(byName.stderr, /no app named "one"/);
  assert.match(byName.stderr, new RegExp(`running, with a damaged record: ${one.id}; stop one by its id, e.g. \`nodal app stop ${one.id}\``));
  assert.ok(alive(pids.one));
  const stopOne = await box.run(["app", "stop", one.id]);
  assert.equal(stopOne.code, 0, stopOne.stderr);
  await waitUntil(() => !alive(pids.one), { what: "one's supervisor to exit" });

  // Stopped, the supervisors wrote whole records again.
  const after = JSON.parse((await box.run(["app", "list", "--json"])).stdout);
  assert.deepEqual(Object.fromEntries(after.map((a) => [a.name, a.state])), { one: "stopped", two: "stopped", three: "deployed" });
  await box.run(["app", "stop", "three"]);
  assert.deepEqual(pidsWithHome(box.home), []);
});
