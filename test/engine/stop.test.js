import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { BIN, pidsWithHome, request, sandbox, waitUntil } from "../helpers.js";

const app = (reply) => `
import express from "express";
import { existsSync } from "node:fs";
import { App } from "nodal";
export const app = new App("halt");
const web = express();
web.get("/", (_req, res) => { res.json({ reply: "${reply}" }); });
web.get("/crash", () => { process.exit(3); });
// Answers once the file named by ?until exists (the test says when), so a stop waits for it.
web.get("/held", async (req, res) => {
  console.log("held request started");
  while (!existsSync(String(req.query.until))) await new Promise((r) => setTimeout(r, 20));
  res.json({ held: "done" });
});
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

test("on a terminal, app stop shows a spinner while it waits for a request in flight, then stops", { skip: !existsSync("/usr/bin/script") && "no script(1)" }, async (t) => {
  const box = sandbox(t, { "app.ts": app("v1") });
  const { urls } = await deploy(box);
  const release = join(box.dir, "release");
  const held = request(`${urls.api}/held?until=${encodeURIComponent(release)}`, { timeoutMs: 30_000 });
  await waitUntil(async () => (await box.run(["app", "logs", "halt", "--search", "held request started"])).stdout.includes("held request started"), {
    what: "the held request to start",
  });
  // script(1) gives the stop a terminal.
  const stop = box.spawn(["-qec", `${process.execPath} ${BIN} app stop halt`, "/dev/null"], { bin: "/usr/bin/script" });
  await stop.waitFor(/Stopping halt: waiting for in-flight requests and calls to finish…/, { timeoutMs: 15_000 });
  assert.equal(stop.done, false, "the stop waits for the request");
  writeFileSync(release, "");
  assert.equal(await stop.exit(15_000), 0, stop.output);
  assert.match(stop.output, /Stopped app halt/);
  // The spinner's line is cleared once the stop is over, before the outcome is printed.
  assert.match(stop.output, /\r\u001b\[2K[^]*Stopped app halt/);
  const res = await held;
  assert.equal(res.status, 200);
  assert.deepEqual(JSON.parse(res.body), { held: "done" });
  const [rec] = JSON.parse((await box.run(["app", "list", "--json"])).stdout);
  assert.equal(rec.state, "stopped");
});
