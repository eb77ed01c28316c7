import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { sandbox, waitUntil } from "../helpers.js";

const app = (body) => `
import { appendFileSync } from "node:fs";
import { App, Cron, Period } from "nodal";
export const app = new App("sched");
const trace = (s: string) => appendFileSync(process.env.TRACE_FILE!, s + " " + Date.now() + "\\n");
${body}
`;

function runs(box, id) {
  const file = join(box.home, "logs", id, "runs.jsonl");
  return existsSync(file) ? readFileSync(file, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)) : [];
}

async function deploy(t, body) {
  const box = sandbox(t, { "app.ts": app(body) });
  box.env.TRACE_FILE = join(box.dir, "trace.log");
  const res = await box.run(["deploy", "app.ts", "--json"]);
  assert.equal(res.code, 0, res.stderr);
  return { box, id: JSON.parse(res.stdout).id };
}

const show = async (box) => JSON.parse((await box.run(["app", "show", "sched", "--json"])).stdout);

test("an every-second Cron runs each second, once; show has next and last run; its log lines carry the run id", async (t) => {
  const { box, id } = await deploy(t, `export const tick = app.function({ schedule: new Cron("* * * * * *") }, async () => { console.log("tick!"); });`);
  await waitUntil(() => runs(box, id).length >= 3, { timeoutMs: 8000, what: "3 runs" });
  const all = runs(box, id);
  assert.ok(all.every((r) => r.outcome === "success" && r.fn === "tick"));
  const seconds = all.map((r) => r.startedAt.slice(0, 19));
  assert.equal(new Set(seconds).size, seconds.length, "no second ran twice");
  const s = await show(box);
  const fn = s.functions.find((f) => f.name === "tick");
  assert.equal(fn.schedule, 'cron "* * * * * *"');
  assert.ok(Date.parse(fn.nextRun) > Date.now() - 1000);
  assert.equal(fn.lastRun.outcome, "success");
  const lines = (await box.run(["app", "logs", "sched", "--function", "tick", "--source", "stdout", "--json"])).stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.ok(lines.length >= 3);
  for (const l of lines) assert.match(l.source, /^run-[0-9a-f]{10}$/);
  assert.ok(all.some((r) => r.id === lines[0].source));
});

test("a tick while the previous run goes on is skipped and recorded; runs never overlap", async (t) => {
  const { box, id } = await deploy(
    t,
    `export const slow = app.function({ schedule: new Period({ seconds: 1 }) }, async () => { trace("start"); await new Promise((r) => setTimeout(r, 2200)); trace("end"); });`,
  );
  await waitUntil(() => runs(box, id).filter((r) => r.outcome === "success").length >= 1 && runs(box, id).some((r) => r.outcome === "skipped"), { timeoutMs: 10_000, what: "a skipped tick" });
  const events = readFileSync(box.env.TRACE_FILE, "utf8").trim().split("\n").map((l) => l.split(" ")[0]);
  let open = 0;
  for (const e of events) {
    open += e === "start" ? 1 : -1;
    assert.ok(open <= 1, `overlap in ${events.join(",")}`);
  }
  const logs = (await box.run(["app", "logs", "sched", "--search", "skipped"])).stdout;
  assert.match(logs, /tick of .* skipped: the previous run is still going/);
});

test("a failing run is retried per retries and recorded as failure; a run past its timeout as timeout", async (t) => {
  const { box, id } = await deploy(
    t,
    `export const bad = app.function({ schedule: new Cron("* * * * * *"), retries: 1 }, async () => { throw new Error("always"); });
export const stuck = app.function({ schedule: new Period({ seconds: 3 }), timeout: 1 }, async () => { await new Promise((r) => setTimeout(r, 5000)); });`,
  );
  await waitUntil(() => runs(box, id).some((r) => r.fn === "bad" && r.outcome !== "skipped") && runs(box, id).some((r) => r.fn === "stuck" && r.outcome === "timeout"), { timeoutMs: 15_000, what: "outcomes" });
  const bad = runs(box, id).find((r) => r.fn === "bad" && r.outcome !== "skipped");
  assert.equal(bad.outcome, "failure");
  assert.equal(bad.attempts, 2);
  assert.match(bad.error, /always/);
  const s = await show(box);
  assert.equal(s.functions.find((f) => f.name === "stuck").lastRun.outcome, "timeout");
});

test("a redeploy restarts a Period and leaves a Cron alone; runs missed while stopped are not back-filled", async (t) => {
  const body = `export const hourly = app.function({ schedule: new Period({ hours: 1 }) }, async () => {});
export const yearly = app.function({ schedule: new Cron("0 0 1 1 *") }, async () => {});
export const every = app.function({ schedule: new Cron("* * * * * *") }, async () => {});`;
  const { box, id } = await deploy(t, body);
  const before = await show(box);
  const next = (s, fn) => Date.parse(s.functions.find((f) => f.name === fn).nextRun);
  await new Promise((r) => setTimeout(r, 1100));
  box.write({ "app.ts": app(body + "\nexport const version = 2;") });
  const redeploy = await box.run(["deploy", "app.ts"]);
  assert.match(redeploy.stdout, /sched v2/);
  const after = await show(box);
  assert.ok(next(after, "hourly") - next(before, "hourly") >= 1000, "the Period restarted at the deploy");
  assert.equal(next(after, "yearly"), next(before, "yearly"));

  assert.equal((await box.run(["app", "stop", "sched"])).code, 0);
  const stoppedAt = Date.now();
  await new Promise((r) => setTimeout(r, 2500));
  const restartedAt = Date.now();
  const back = await box.run(["app", "rollback", "sched", "--json"]);
  assert.equal(back.code, 0, back.stderr);
  const id2 = JSON.parse(back.stdout).id; // a stopped app starts again as a new instance, as in Modal
  await waitUntil(() => runs(box, id2).length > 0, { timeoutMs: 5000, what: "a run after the restart" });
  const all = [...runs(box, id), ...runs(box, id2)];
  const gap = all.filter((r) => Date.parse(r.startedAt) > stoppedAt + 500 && Date.parse(r.startedAt) < restartedAt);
  assert.deepEqual(gap, []);
  assert.ok(runs(box, id2).every((r) => Date.parse(r.startedAt) >= restartedAt));
});

test("nodal run FILE::fn runs a scheduled function now; serve fires schedules unless --no-schedules", async (t) => {
  const box = sandbox(t, { "app.ts": app(`export const tick = app.function({ schedule: new Cron("* * * * * *") }, async () => { trace("tick"); return "ran"; });`) });
  const trace = join(box.dir, "trace.log");
  const env = { TRACE_FILE: trace };
  const once = await box.run(["run", "app.ts::tick"], { env });
  assert.equal(once.code, 0, once.stderr);
  assert.equal(JSON.parse(once.stdout), "ran");
  const quiet = box.spawn(["serve", "app.ts", "--no-schedules"], { env: { TRACE_FILE: join(box.dir, "quiet.log") } });
  await quiet.waitFor(/ready in/);
  const loud = box.spawn(["serve", "app.ts"], { env: { TRACE_FILE: join(box.dir, "loud.log") } });
  await loud.waitFor(/ready in/);
  await waitUntil(() => existsSync(join(box.dir, "loud.log")) && readFileSync(join(box.dir, "loud.log"), "utf8").split("\n").length >= 3, { timeoutMs: 6000, what: "served ticks" });
  assert.equal(existsSync(join(box.dir, "quiet.log")), false);
});
