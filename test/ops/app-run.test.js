import assert from "node:assert/strict";
import { test } from "node:test";
import { sandbox } from "../helpers.js";

const app = `
import { App, Period } from "nodal";
export const app = new App("ops");
export const square = app.function({}, async (x: number) => x * x);
export const twice = app.function({}, async (x: number) => 2 * (await square.remote(x)));
export const boom = app.function({}, async () => { throw new Error("kaboom"); });
export const tick = app.function({ schedule: new Period({ hours: 1 }) }, async () => "ticked");
export const hello = app.webEndpoint({ method: "GET" }, async () => ({ hello: "world" }));
`;

async function deployed(t, args = []) {
  const box = sandbox(t, { "app.ts": app });
  const res = await box.run(["deploy", "app.ts", "--json", ...args], { timeoutMs: 60_000 });
  assert.equal(res.code, 0, res.stderr);
  return { box, deploy: JSON.parse(res.stdout) };
}

const callsOf = async (box, ...args) => {
  const res = await box.run(["app", "calls", "ops", "--json", ...args]);
  assert.equal(res.code, 0, res.stderr);
  return JSON.parse(res.stdout);
};

test("app run prints a function's result; its error exits 1 with its message; an unknown function says which exist", async (t) => {
  const { box } = await deployed(t);
  const ok = await box.run(["app", "run", "ops::square", "--input", "7"]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, "49\n");

  const failed = await box.run(["app", "run", "ops::boom"]);
  assert.equal(failed.code, 1);
  assert.equal(failed.stdout, "");
  assert.match(failed.stderr, /^Error: kaboom\nHint: remote stack:\n\s+at .*app\.ts:6:/);

  const unknown = await box.run(["app", "run", "ops::nope"]);
  assert.equal(unknown.code, 1);
  assert.equal(unknown.stderr, 'Error: app "ops" has no function "nope"\nHint: its functions: square, twice, boom, tick\n');

  const web = await box.run(["app", "run", "ops::hello"]);
  assert.equal(web.code, 1);
  assert.match(web.stderr, /^Error: "hello" is a web function; call it over HTTP\nHint: its URL: http:\/\/127\.0\.0\.1:\d+\n$/);

  const usage = await box.run(["app", "run", "ops"]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /expected NAME::FUNCTION, got "ops"/);

  const badInput = await box.run(["app", "run", "ops::square", "--input", "{nope"]);
  assert.equal(badInput.code, 1);
  assert.match(badInput.stderr, /--input is not valid JSON/);
});

test("app calls lists every call with id, start, duration, outcome and error: from app run and .remote()", async (t) => {
  const { box } = await deployed(t);
  assert.deepEqual(await callsOf(box), []);
  const empty = await box.run(["app", "calls", "ops"]);
  assert.equal(empty.stdout, "No calls of ops since it started.\n");

  assert.equal((await box.run(["app", "run", "ops::twice", "--input", "3"])).stdout, "18\n");
  assert.equal((await box.run(["app", "run", "ops::boom"])).code, 1);
  const calls = await callsOf(box);
  // twice's inner .remote() call of square ends first.
  assert.deepEqual(calls.map((c) => [c.function, c.outcome, c.error ?? null]), [
    ["square", "success", null],
    ["twice", "success", null],
    ["boom", "failure", "kaboom"],
  ]);
  for (const c of calls) {
    assert.match(c.id, /^fc-[0-9a-f]{12}$/);
    assert.ok(Number.isInteger(c.durationMs) && c.durationMs >= 0, `duration ${c.durationMs}`);
    assert.ok(!Number.isNaN(Date.parse(c.startedAt)), c.startedAt);
    assert.deepEqual(Object.keys(c).sort(), ["durationMs", "function", "id", "outcome", "startedAt", ...(c.error ? ["error"] : [])].sort());
  }
  assert.equal(new Set(calls.map((c) => c.id)).size, 3);

  const onlyBoom = await callsOf(box, "--function", "boom");
  assert.deepEqual(onlyBoom, [calls[2]]);

  const table = await box.run(["app", "calls", "ops"]);
  assert.equal(table.code, 0, table.stderr);
  const rows = table.stdout.trim().split("\n");
  assert.match(rows[0], /^Call ID\s+Function\s+Started\s+Duration\s+Outcome\s+Error$/);
  assert.match(rows[3], new RegExp(`^${calls[2].id}\\s+boom\\s+${calls[2].startedAt.replace(/\./g, "\\.")}\\s+${calls[2].durationMs} ms\\s+failure\\s+kaboom$`));

  const unknown = await box.run(["app", "calls", "ops", "--function", "nope"]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /app "ops" has no function "nope"/);
});

test("a scheduled function run with app run is a tick: its last run in app show, its run id in app calls", async (t) => {
  const { box } = await deployed(t);
  const res = await box.run(["app", "run", "ops::tick"]);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout, '"ticked"\n');
  const show = JSON.parse((await box.run(["app", "show", "ops", "--json"])).stdout);
  const tick = show.functions.find((f) => f.name === "tick");
  assert.equal(tick.lastRun.outcome, "success");
  assert.match(tick.lastRun.id, /^run-[0-9a-f]{10}$/);
  const [call] = await callsOf(box, "--function", "tick");
  assert.equal(call.id, tick.lastRun.id);
  assert.equal(call.outcome, "success");
  // Run on demand, the hourly schedule still waits for its hour.
  assert.ok(Date.parse(tick.nextRun) > Date.now() + 30 * 60_000, tick.nextRun);
});

test("app run reaches a served app too, and a stopped app is an error", async (t) => {
  const box = sandbox(t, { "app.ts": app });
  const serve = box.spawn(["serve", "app.ts", "--no-schedules"]);
  await serve.waitFor(/ready in/, { timeoutMs: 30_000 });
  const res = await box.run(["app", "run", "ops::square", "--input", "12"]);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout, "144\n");
  // Without a scheduler, a scheduled function is just called.
  assert.equal((await box.run(["app", "run", "ops::tick"])).stdout, '"ticked"\n');
  await serve.kill();
  const gone = await box.run(["app", "run", "ops::square", "--input", "1"]);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /^Error: app "ops" is stopped; `app run` needs it running\n/);
});

test("deploy --tag keeps the tag with the version: a Tag column in app history, tag in --json", async (t) => {
  const { box } = await deployed(t, ["--tag", "release-1"]);
  box.write({ "app.ts": app.replace('"ticked"', '"ticked again"') });
  const second = await box.run(["deploy", "app.ts"]);
  assert.equal(second.code, 0, second.stderr);
  const history = JSON.parse((await box.run(["app", "history", "ops", "--json"])).stdout);
  assert.deepEqual(history.map((v) => [v.version, v.tag, v.live]), [
    [2, null, true],
    [1, "release-1", false],
  ]);
  const table = (await box.run(["app", "history", "ops"])).stdout.trim().split("\n");
  assert.match(table[0], /^Version\s+Deployed\s+Source\s+Tag\s+State\s+Note$/);
  assert.match(table[1], /^v2\s+\S+ \S+\s+\S+app\.ts\s+live$/);
  assert.match(table[2], /^v1\s+\S+ \S+\s+\S+app\.ts\s+release-1$/);
  const bad = await box.run(["deploy", "app.ts", "--tag", ""]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /A tag is 1 to 100 characters on one line/);
});
