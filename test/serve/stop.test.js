import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { test } from "node:test";
import { BIN, pidsWithHome, request, sandbox, waitUntil } from "../helpers.js";

// A request that never ends, from a handler that also started a child process: a graceful
// stop would wait for the request (grace, then SIGKILL); a second Ctrl-C must not.
const hangingApp = `
import express from "express";
import { spawn } from "node:child_process";
import { App } from "nodal";
export const app = new App("hang");
const web = express();
web.get("/hang", () => {
  const child = spawn("sleep", ["611"], { stdio: "ignore" });
  console.log("hang started, child " + child.pid);
});
export const api = app.webApp({}, () => web);
`;

test("a second SIGINT while stopping kills the workers and their children at once, exits 130 and marks the app stopped", async (t) => {
  const box = sandbox(t, { "app.ts": hangingApp });
  const proc = box.spawn(["serve", "app.ts"]);
  await proc.waitFor(/ready in \d+ ms/);
  const url = proc.stdout.match(/api\s+(http:\/\/\S+)/)[1];
  const hung = request(`${url}/hang`, { timeoutMs: 30_000 }).then(
    (res) => `status ${res.status}`,
    (error) => error.message,
  );
  const child = Number((await proc.waitFor(/hang started, child (\d+)/))[1]);
  assert.ok(pidsWithHome(box.home).includes(child), "the handler's child runs");

  proc.signal("SIGINT");
  await proc.waitFor(/SIGINT received; stopping \(press Ctrl-C again to force\)/);
  proc.signal("SIGINT");
  assert.equal(await proc.exit(10_000), 130);
  assert.match(proc.stdout, /SIGINT received while stopping; workers killed\n.*stopped\n$/);
  assert.doesNotMatch(proc.stderr, /Error|at /);
  // The worker died with its request unanswered: the graceful path would have waited for it.
  assert.match(await hung, /socket hang up|ECONNRESET/);
  await waitUntil(() => pidsWithHome(box.home).length === 0, { timeoutMs: 3000, what: `no process left (live: ${pidsWithHome(box.home)})` });
  const [rec] = JSON.parse((await box.run(["app", "list", "--json"])).stdout);
  assert.equal(rec.state, "stopped");
  assert.ok(rec.stoppedAt);
  const sockets = readdirSync(box.home, { recursive: true }).filter((f) => f.endsWith(".sock"));
  assert.deepEqual(sockets, [], "its control socket is gone");
});

test("`nodal app stop` then SIGINT: the signal forces the stop the request began", async (t) => {
  const box = sandbox(t, { "app.ts": hangingApp });
  const proc = box.spawn(["serve", "app.ts"]);
  await proc.waitFor(/ready in \d+ ms/);
  const url = proc.stdout.match(/api\s+(http:\/\/\S+)/)[1];
  const hung = request(`${url}/hang`, { timeoutMs: 30_000 }).catch((error) => error.message);
  await proc.waitFor(/hang started/);
  const stopping = box.spawn(["app", "stop", "hang"]);
  await proc.waitFor(/stop requested; stopping\n/);
  proc.signal("SIGINT");
  assert.equal(await proc.exit(10_000), 130);
  assert.match(proc.stdout, /SIGINT received while stopping; workers killed/);
  await hung;
  await stopping.exit(15_000);
  await waitUntil(() => pidsWithHome(box.home).length === 0, { timeoutMs: 3000, what: "no process left" });
});

test("on a terminal, a serve stop that waits for a request in flight shows a spinner, cleared when it is over", { skip: !existsSync("/usr/bin/script") && "no script(1)" }, async (t) => {
  const box = sandbox(t, { "app.ts": hangingApp });
  // script(1) gives serve a terminal.
  const proc = box.spawn(["-qec", `${process.execPath} ${BIN} serve app.ts`, "/dev/null"], { bin: "/usr/bin/script" });
  await proc.waitFor(/ready in \d+ ms/);
  const url = proc.output.match(/api\s+(http:\/\/\S+)/)[1];
  const hung = request(`${url}/hang`, { timeoutMs: 30_000 }).catch((error) => error.message);
  await proc.waitFor(/hang started/);
  const stop = await box.run(["app", "stop", "hang"]);
  assert.equal(stop.code, 0, stop.stderr);
  // The request never ends: the stop waits out serve's grace, with the spinner up meanwhile.
  assert.match(proc.output, /stop requested; stopping[^]*stopping: waiting for in-flight requests and calls to finish…[^]*\r\u001b\[2K[^]*stopped/);
  assert.equal(await proc.exit(10_000), 0);
  assert.match(await hung, /socket hang up|ECONNRESET/);
});
