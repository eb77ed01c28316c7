// Stored spawned calls of a deployed app: found by id from any process, kept across a redeploy
// and a stop, cancelled with their worker stopped.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { alive, sandbox, waitUntil } from "../helpers.js";

const SDK = JSON.stringify(new URL("../../dist/sdk/index.js", import.meta.url).href);

const app = (extra = "") => `import { writeFileSync } from "node:fs";
import { App, FunctionCall } from "nodal";
export const app = new App("durable");
export const square = app.function({}, async (x: number) => x * x);
export const boom = app.function({}, async () => { throw new RangeError("nope"); });
export const slow = app.function({}, async (file: string) => {
  writeFileSync(file, String(process.pid));
  await new Promise((r) => setTimeout(r, 600_000));
  return "never";
});
export const starter = app.function({}, async (x: number) => (await square.spawn(x)).id);
export const fetcher = app.function({}, async (id: string) => FunctionCall.fromId(id).get({ timeout: 30 }));
${extra}`;

/** Runs a module script in the sandbox (bounded); its stdout is JSON. */
function script(box, body) {
  const file = `s-${Math.random().toString(16).slice(2)}.mjs`;
  box.write({ [file]: `import { Function, FunctionCall } from ${SDK};\nconst out = {};\n${body}\nconsole.log(JSON.stringify(out));\n` });
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [file], { cwd: box.dir, env: box.env, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`script failed: ${error.message}\n${stderr}`));
      resolve(JSON.parse(stdout));
    });
  });
}

const getResult = (id) => `try { out.value = await FunctionCall.fromId(${JSON.stringify(id)}).get({ timeout: 30 }); } catch (e) { out.error = [e.name, e.message]; }`;

test("a call spawned from a script is found by id from another process, after a redeploy and with the app stopped", async (t) => {
  const box = sandbox(t, { "app.ts": app() });
  assert.equal((await box.run(["deploy", "app.ts"])).code, 0);
  const { id } = await script(box, `out.id = (await Function.fromName("durable", "square").spawn(7)).id;`);
  assert.match(id, /^fc-/);
  assert.deepEqual(await script(box, getResult(id)), { value: 49 });
  const stored = JSON.parse(readFileSync(join(box.home, "calls", "durable", `${id}.json`), "utf8"));
  assert.equal(stored.state, "success");
  assert.equal(stored.function, "square");

  box.write({ "app.ts": app(`export const extra = app.function({}, async () => 1);`) });
  const redeploy = await box.run(["deploy", "app.ts"]);
  assert.equal(redeploy.code, 0, redeploy.stderr);
  assert.deepEqual(await script(box, getResult(id)), { value: 49 }, "kept across a redeploy");

  assert.equal((await box.run(["app", "stop", "durable"])).code, 0);
  assert.deepEqual(await script(box, getResult(id)), { value: 49 }, "kept with no supervisor running");
  assert.deepEqual(await script(box, getResult("fc-0000")), { error: ["NotFoundError", 'no function call "fc-0000" on this machine (results are kept 24 hours)'] });
});

test("a spawned call's error is its get's; a running one times out, then cancel stops its worker", async (t) => {
  const box = sandbox(t, { "app.ts": app() });
  assert.equal((await box.run(["deploy", "app.ts"])).code, 0);
  const failed = await script(box, `const c = await Function.fromName("durable", "boom").spawn(); out.id = c.id;`);
  assert.deepEqual((await script(box, getResult(failed.id))).error, ["RangeError", "nope"]);

  const pidFile = join(box.dir, "slow.pid");
  const { id } = await script(box, `out.id = (await Function.fromName("durable", "slow").spawn(${JSON.stringify(pidFile)})).id;`);
  await waitUntil(() => existsSync(pidFile) && readFileSync(pidFile, "utf8") !== "", { what: "the slow call to start" });
  const pid = Number(readFileSync(pidFile, "utf8"));
  const waited = await script(box, `try { await FunctionCall.fromId(${JSON.stringify(id)}).get({ timeout: 0.3 }); } catch (e) { out.error = [e.name, e.message]; }`);
  assert.deepEqual(waited.error, ["TimeoutError", `function call ${id} did not finish within 0.3s`]);
  assert.ok(alive(pid), "still running after a get timed out");

  // A get waiting in one process ends when another cancels the call.
  const waiting = script(box, getResult(id));
  await script(box, `await FunctionCall.fromId(${JSON.stringify(id)}).cancel();`);
  assert.deepEqual((await waiting).error, ["CancelledError", `function call ${id} of "slow" was cancelled`]);
  await waitUntil(() => !alive(pid), { what: "the cancelled call's worker to stop" });
  assert.deepEqual((await script(box, getResult(id))).error, ["CancelledError", `function call ${id} of "slow" was cancelled`]);
  // The function still takes calls after its worker was stopped.
  const again = await script(box, `out.id = (await Function.fromName("durable", "square").spawn(9)).id;`);
  assert.deepEqual(await script(box, getResult(again.id)), { value: 81 });
});

test("a call spawned in app code is found by id from a script and from another function's worker", async (t) => {
  const box = sandbox(t, { "app.ts": app() });
  assert.equal((await box.run(["deploy", "app.ts"])).code, 0);
  const started = await box.run(["app", "run", "durable::starter", "--input", "5"]);
  assert.equal(started.code, 0, started.stderr);
  const id = JSON.parse(started.stdout);
  assert.match(id, /^fc-/);
  assert.deepEqual(await script(box, getResult(id)), { value: 25 });
  const fetched = await box.run(["app", "run", "durable::fetcher", "--input", JSON.stringify(id)]);
  assert.equal(fetched.code, 0, fetched.stderr);
  assert.equal(JSON.parse(fetched.stdout), 25);
  // An unknown function is refused when spawned, not when fetched.
  const unknown = await script(box, `try { await Function.fromName("durable", "nope").spawn(); } catch (e) { out.error = [e.name, e.message]; }`);
  assert.deepEqual(unknown.error, ["NotFoundError", 'app "durable" has no function "nope"']);
});

test("a call whose supervisor was killed while it ran is reported interrupted, not waited for", async (t) => {
  const box = sandbox(t, { "app.ts": app() });
  assert.equal((await box.run(["deploy", "app.ts"])).code, 0);
  const pidFile = join(box.dir, "slow.pid");
  const { id } = await script(box, `out.id = (await Function.fromName("durable", "slow").spawn(${JSON.stringify(pidFile)})).id;`);
  await waitUntil(() => existsSync(pidFile) && readFileSync(pidFile, "utf8") !== "", { what: "the slow call to start" });
  const show = JSON.parse((await box.run(["app", "show", "durable", "--json"])).stdout);
  process.kill(show.pids.supervisor, "SIGKILL");
  await waitUntil(() => !alive(show.pids.supervisor), { what: "the supervisor to die" });
  const out = await script(box, getResult(id));
  assert.deepEqual(out.error, ["Error", `function call ${id} of "slow" was interrupted: app "durable" stopped before it finished`]);
});

test("a served app stores its spawned calls too", async (t) => {
  const box = sandbox(t, { "app.ts": app() });
  const proc = box.spawn(["serve", "app.ts"]);
  await proc.waitFor(/ready in/);
  const { id } = await script(box, `out.id = (await Function.fromName("durable", "square").spawn(12)).id;`);
  assert.deepEqual(await script(box, getResult(id)), { value: 144 });
  assert.ok(existsSync(join(box.home, "calls", "durable", `${id}.json`)));
});
