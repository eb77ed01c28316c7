import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { pidsWithHome, request, sandbox, waitUntil } from "../helpers.js";

const app = (reply) => `
import express from "express";
import { App } from "nodal";
export const app = new App("halt");
const web = express();
web.get("/", (_req, res) => { res.json({ reply: "${reply}" }); });
web.get("/crash", () => { process.exit(3); });
export const api = app.webApp({}, () => web);
`;

// Bounds, not timings: a stop that waits on nothing finishes in well under a second, and one
// that hangs (as it did) takes the grace plus 5 s and ends in SIGKILL.
const STOP_BOUND_MS = 8000;

async function deploy(box) {
  const res = await box.run(["deploy", "app.ts", "--json"], { timeoutMs: 60_000 });
  assert.equal(res.code, 0, res.stderr);
  return JSON.parse(res.stdout);
}

async function stopAndCheck(t, box) {
  const started = Date.now();
  const stop = await box.run(["app", "stop", "halt"], { timeoutMs: STOP_BOUND_MS });
  t.diagnostic(`app stop took ${Date.now() - started} ms`);
  assert.equal(stop.code, 0, `app stop did not finish within ${STOP_BOUND_MS} ms: ${stop.stdout}${stop.stderr}`);
  assert.match(stop.stdout, /Stopped app halt/);
  assert.doesNotMatch(stop.stdout, /killed/);
  const [rec] = JSON.parse((await box.run(["app", "list", "--json"])).stdout);
  assert.equal(rec.state, "stopped");
  // Written by the app itself at the end of a graceful stop (a SIGKILL writes nothing).
  const logs = (await box.run(["app", "logs", "halt", "--source", "system"])).stdout;
  assert.match(logs, /\] stopped$/m);
  // Nothing of the app is left (the port's release is the front door's unit test: another
  // app on this machine may bind it the moment it is free).
  await waitUntil(() => pidsWithHome(box.home).length === 0, { timeoutMs: 3000, what: "no process left" });
}

test("app stop after a redeploy that followed a request is prompt and graceful", async (t) => {
  const box = sandbox(t, { "app.ts": app("v1") });
  const { urls } = await deploy(box);
  assert.equal((await request(urls.api)).status, 200);
  box.write({ "app.ts": app("v2") });
  assert.equal((await deploy(box)).version, 2);
  await stopAndCheck(t, box);
});

test("app stop after a worker crashed and was restarted is prompt and graceful", async (t) => {
  const box = sandbox(t, { "app.ts": app("v1") });
  const { urls } = await deploy(box);
  await request(`${urls.api}/crash`).catch(() => {});
  await waitUntil(
    async () => {
      const s = JSON.parse((await box.run(["app", "show", "halt", "--json"])).stdout);
      return s.restarts.api === 1 && s.health.api.state === "ready";
    },
    { timeoutMs: 15_000, what: "the crashed worker restarted" },
  );
  await stopAndCheck(t, box);
});

test("serve: a request, an edit and its reload, then Ctrl-C stops promptly", async (t) => {
  const box = sandbox(t, { "app.ts": app("v1") });
  const serve = box.spawn(["serve", "app.ts"]);
  await serve.waitFor(/ready in/);
  const url = serve.stdout.match(/api\s+(http:\S+)/)[1];
  assert.equal(JSON.parse((await request(url)).body).reply, "v1");
  const [v1Worker] = JSON.parse((await box.run(["app", "show", "halt", "--json"])).stdout).pids.workers;
  box.write({ "app.ts": app("v2") });
  await serve.waitFor(/reloaded v2/);
  // v1's worker, the only one a connection was handed to, exits once it has drained: the case
  // where Node's server.close() never called back.
  await waitUntil(() => !existsSync(`/proc/${v1Worker}`), { timeoutMs: 10_000, what: "v1's worker to exit" });
  const started = Date.now();
  serve.signal("SIGINT");
  let timer;
  const code = await Promise.race([serve.exited, new Promise((r) => (timer = setTimeout(() => r("still running"), 5000)))]);
  clearTimeout(timer);
  t.diagnostic(`serve stopped ${Date.now() - started} ms after SIGINT`);
  assert.equal(code, 130, `serve did not exit within 5 s of SIGINT:\n${serve.output}`);
  const [rec] = JSON.parse((await box.run(["app", "list", "--json"])).stdout);
  assert.equal(rec.state, "stopped");
  await waitUntil(() => pidsWithHome(box.home).length === 0, { timeoutMs: 3000, what: "no process left" });
});
