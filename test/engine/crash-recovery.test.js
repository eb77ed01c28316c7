import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { request, sandbox, waitUntil } from "../helpers.js";

// Its import throws while the marker file exists; /crash exits the worker.
const app = (marker) => `
import express from "express";
import { existsSync } from "node:fs";
import { App } from "nodal";
if (existsSync(${JSON.stringify(marker)})) throw new Error("marker present: refusing to start");
export const app = new App("phoenix");
const web = express();
web.get("/", (_req, res) => { res.json({ ok: true }); });
web.get("/crash", () => { process.exit(3); });
export const api = app.webApp({}, () => web);
`;

async function show(box) {
  const res = await box.run(["app", "show", "phoenix", "--json"]);
  assert.equal(res.code, 0, res.stderr);
  return JSON.parse(res.stdout);
}

test("a web worker whose restarts keep failing is retried until the cause is gone; meanwhile requests get a 503", async (t) => {
  const box = sandbox(t);
  const marker = join(box.dir, "broken");
  box.write({ "app.ts": app(marker) });
  // A request waits 300 ms for a worker here, not the default 10 s.
  const env = { NODAL_NO_WORKER_WAIT_MS: "300" };
  const dep = await box.run(["deploy", "app.ts", "--json"], { env, timeoutMs: 60_000 });
  assert.equal(dep.code, 0, dep.stderr);
  const url = JSON.parse(dep.stdout).urls.api;
  assert.equal((await show(box)).health.api.state, "ready");

  writeFileSync(marker, "");
  await request(`${url}/crash`).catch(() => {});
  // Two attempts that failed at import, and it is still trying.
  const down = await waitUntil(
    async () => {
      const s = await show(box);
      return s.health.api.state === "restarting" && s.health.api.restarts >= 2 && s;
    },
    { timeoutMs: 20_000, intervalMs: 50, what: "two failed restarts" },
  );
  assert.equal(down.health.api.lastExit.code, 3);
  assert.ok(!Number.isNaN(Date.parse(down.health.api.nextAttemptAt)), JSON.stringify(down.health));
  assert.equal(down.state, "deployed");

  const outage = await request(url, { timeoutMs: 5000 });
  assert.equal(outage.status, 503);
  assert.match(JSON.parse(outage.body).error, /"api" has no worker ready/);

  rmSync(marker);
  await waitUntil(async () => (await request(url).catch(() => ({ status: 0 }))).status === 200, { timeoutMs: 30_000, intervalMs: 100, what: "serving again" });
  const up = await show(box);
  assert.equal(up.health.api.state, "ready");
  assert.ok(up.health.api.restarts >= down.health.api.restarts);
  assert.equal(up.health.api.nextAttemptAt, undefined);
  const logs = (await box.run(["app", "logs", "phoenix", "--source", "system"])).stdout;
  assert.match(logs, /restart of "api" failed: .*marker present: refusing to start.*next attempt in \d+ ms/);
  assert.match(logs, /worker w\d+ of "api" restarted/);
});
