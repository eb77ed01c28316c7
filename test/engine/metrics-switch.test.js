import assert from "node:assert/strict";
import { test } from "node:test";
import { request, sandbox, waitUntil } from "../helpers.js";

const app = `
import { App } from "nodal";
export const app = new App("counter");
export const api = app.webEndpoint({ method: "GET" }, async () => ({ ok: true }));
`;

const REQUESTS = 3;

async function deploy(box, name, env = {}) {
  const res = await box.run(["deploy", "app.ts", "--json", "--name", name], { timeoutMs: 60_000, env });
  assert.equal(res.code, 0, res.stderr);
  return JSON.parse(res.stdout).urls.api;
}

async function apiStats(box, name) {
  const res = await box.run(["app", "show", name, "--json"]);
  assert.equal(res.code, 0, res.stderr);
  return JSON.parse(res.stdout).stats?.functions.find((f) => f.name === "api");
}

test("NODAL_METRICS=off: requests to a deployed app leave its stats at zero; without it they are counted", async (t) => {
  const box = sandbox(t, { "app.ts": app });
  const offUrl = await deploy(box, "uncounted", { NODAL_METRICS: "off" });
  const onUrl = await deploy(box, "counted");

  // The uncounted app's requests go first: by the time the counted app's later requests show
  // in its stats, a batch of the uncounted app's (sent by the same path, on the same timer)
  // would have arrived too.
  for (let i = 0; i < REQUESTS; i++) assert.equal((await request(offUrl)).status, 200);
  for (let i = 0; i < REQUESTS; i++) assert.equal((await request(onUrl)).status, 200);
  let counted;
  await waitUntil(async () => (counted = await apiStats(box, "counted"))?.calls === REQUESTS, { what: `${REQUESTS} calls counted` });
  assert.equal(counted.errors, 0);
  assert.equal(typeof counted.p50Ms, "number");

  const uncounted = await apiStats(box, "uncounted");
  assert.ok(uncounted, "the function is listed in the stats");
  assert.equal(uncounted.calls, 0);
  assert.equal(uncounted.p50Ms, null);
});
