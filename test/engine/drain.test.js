import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { sandbox, waitUntil } from "../helpers.js";

const SDK = JSON.stringify(new URL("../../dist/sdk/index.js", import.meta.url).href);

const app = (version, extra = "") => `
import { writeFileSync } from "node:fs";
import { App } from "nodal";
export const app = new App("drains");
export const slow = app.function({ timeout: 30 }, async (ms: number) => {
  writeFileSync(process.env.STARTED_FILE!, "started");
  await new Promise((r) => setTimeout(r, ms));
  writeFileSync(process.env.STARTED_FILE! + ".done", "done");
  return "finished by ${version}";
});
${extra}
`;

/** Calls drains/slow from a separate process, as any client would; resolves with its output. */
function callFromScript(t, box, ms) {
  box.write({ "client.mjs": `import { Function } from ${SDK};\ntry { console.log(JSON.stringify(await Function.fromName("drains", "slow").remote(${ms}))); } catch (e) { console.log(JSON.stringify({ error: e.name + ": " + e.message })); }\n` });
  const child = spawn(process.execPath, ["client.mjs"], { cwd: box.dir, env: box.env, stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => child.kill("SIGKILL"));
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  return new Promise((resolve) => child.on("exit", () => resolve(out.trim())));
}

test("a call in flight during a redeploy finishes on its old worker within its function's timeout", async (t) => {
  const box = sandbox(t, { "app.ts": app("v1") });
  const started = join(box.dir, "started");
  const finished = `${started}.done`;
  box.env.STARTED_FILE = started;
  assert.equal((await box.run(["deploy", "app.ts"], { timeoutMs: 60_000 })).code, 0);
  // Longer than the fixed 10 s a retired worker once had: only the function's 30 s timeout lets it finish.
  const result = callFromScript(t, box, 11_000);
  await waitUntil(() => existsSync(started), { timeoutMs: 20_000, what: "the call to start" });
  box.write({ "app.ts": app("v2") });
  const redeploy = await box.run(["deploy", "app.ts", "--json"], { timeoutMs: 60_000 });
  assert.equal(redeploy.code, 0, redeploy.stderr);
  assert.equal(JSON.parse(redeploy.stdout).version, 2);
  assert.equal(existsSync(finished), false, "the call ended before the redeploy did: nothing was tested");
  assert.equal(await result, JSON.stringify("finished by v1"));
});

test("a call a stop cuts off is logged, naming its function and call", async (t) => {
  const box = sandbox(t, { "app.ts": app("v1") });
  const started = join(box.dir, "started");
  box.env.STARTED_FILE = started;
  const serve = box.spawn(["serve", "app.ts"]);
  await serve.waitFor(/ready in/);
  const result = callFromScript(t, box, 25_000);
  await waitUntil(() => existsSync(started), { timeoutMs: 20_000, what: "the call to start" });
  // serve's stop lets work in flight finish for a few seconds at most.
  serve.signal("SIGINT");
  assert.equal(await serve.exit(20_000), 130, serve.output);
  assert.match(serve.stderr, /slow: call #\d+ of "slow" was cut off by a redeploy or stop/);
  assert.match(await result, /"error":".*call #\d+ was cut off/);
});

test("app stop lets a call finish within its function's timeout; --grace caps that", async (t) => {
  const box = sandbox(t, { "app.ts": app("v1") });
  const started = join(box.dir, "started");
  box.env.STARTED_FILE = started;
  assert.equal((await box.run(["deploy", "app.ts"], { timeoutMs: 60_000 })).code, 0);
  // Past the fixed 10 s grace a stop once had: only the function's 30 s timeout lets it finish.
  const result = callFromScript(t, box, 11_000);
  await waitUntil(() => existsSync(started), { timeoutMs: 20_000, what: "the call to start" });
  const stop = await box.run(["app", "stop", "drains"], { timeoutMs: 60_000 });
  assert.equal(stop.code, 0, stop.stderr);
  assert.equal(await result, JSON.stringify("finished by v1"));

  rmSync(started);
  assert.equal((await box.run(["deploy", "app.ts"], { timeoutMs: 60_000 })).code, 0);
  const cut = callFromScript(t, box, 20_000);
  await waitUntil(() => existsSync(started), { timeoutMs: 20_000, what: "the second call to start" });
  const t0 = Date.now();
  const capped = await box.run(["app", "stop", "drains", "--grace", "1"], { timeoutMs: 60_000 });
  assert.equal(capped.code, 0, capped.stderr);
  assert.ok(Date.now() - t0 < 15_000, "a 1 s cap does not wait for the 20 s call");
  assert.match(await cut, /"error":/);
  const bad = await box.run(["app", "stop", "drains", "--grace", "soon"]);
  assert.equal(bad.code, 2);
});
