import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Scheduler } from "../../dist/modules/engine/scheduler.js";

/** A clock whose time moves only when the test says: `advance` fires due timers in order. */
class FakeClock {
  constructor(start) {
    this.time = Date.parse(start);
    this.timers = new Map();
    this.nextId = 1;
  }
  now = () => this.time;
  setTimer = (fn, ms) => {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + ms, fn });
    return id;
  };
  clearTimer = (id) => this.timers.delete(id);
  /** Moves time forward by `ms`, firing each timer due on the way at its own time. */
  advance(ms) {
    const until = this.time + ms;
    for (;;) {
      const due = [...this.timers].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.time = Math.max(this.time, due[1].at);
      due[1].fn();
    }
    this.time = until;
  }
  /** Moves time forward without firing anything (the process was suspended, or down). */
  jump(ms) {
    this.time += ms;
  }
  /** When the armed timers are due, as ISO strings. */
  get dueAt() {
    return [...this.timers.values()].map((t) => new Date(t.at).toISOString()).sort();
  }
}

/** A host whose calls finish when the test says (`finish(i)`), recording what it is told. */
function fakeHost() {
  const host = {
    calls: [],
    logs: [],
    records: [],
    call(fn, label) {
      let settle;
      const done = new Promise((resolve, reject) => (settle = { resolve, reject }));
      host.calls.push({ fn, label, ...settle });
      return done;
    },
    log: (fn, source, line) => host.logs.push({ fn, source, line }),
    record: (run) => host.records.push(run),
  };
  return host;
}

const cron = (name, expression) => ({ name, schedule: { kind: "cron", expression, timezone: "UTC" } });
const period = (name, seconds) => ({ name, schedule: { kind: "period", seconds } });
const manifest = (...functions) => ({ functions: [...functions, { name: "plain" }] });
const nextRunOf = (s, fn) => s.status()[fn]?.nextRun;
const settled = () => new Promise((r) => setImmediate(r));

test("a Cron's next run comes from the clock; each tick runs once and is recorded", async () => {
  const clock = new FakeClock("2030-01-01T10:00:30.000Z");
  const host = fakeHost();
  const s = new Scheduler(host, clock);
  s.update(manifest(cron("hourly", "0 * * * *")), true);
  assert.equal(nextRunOf(s, "hourly"), "2030-01-01T11:00:00.000Z");
  assert.deepEqual(Object.keys(s.status()), ["hourly"], "only scheduled functions are armed");

  clock.advance(59 * 60_000 + 29_999);
  assert.equal(host.calls.length, 0, "nothing before 11:00");
  clock.advance(1);
  assert.deepEqual(host.calls.map((c) => c.fn), ["hourly"]);
  assert.equal(nextRunOf(s, "hourly"), "2030-01-01T12:00:00.000Z");
  clock.advance(250);
  host.calls[0].resolve("ok");
  await settled();
  assert.equal(host.records.length, 1);
  assert.equal(host.records[0].outcome, "success");
  assert.equal(host.records[0].startedAt, "2030-01-01T11:00:00.000Z");
  assert.equal(host.records[0].durationMs, 250);
  assert.equal(host.records[0].lateMs, 0);
  assert.deepEqual(host.logs.map((l) => l.line), [`run ${host.records[0].id} started`, `run ${host.records[0].id} success in 250 ms`]);
});

test("a Period counts from its anchor: no drift however long runs take", async () => {
  const clock = new FakeClock("2030-01-01T00:00:00.000Z");
  const host = fakeHost();
  const s = new Scheduler(host, clock);
  s.update(manifest(period("every10", 10)), true);
  for (let i = 1; i <= 3; i++) {
    clock.advance(10_000);
    assert.equal(host.calls.length, i);
    clock.advance(0);
    host.calls[i - 1].resolve();
    await settled();
  }
  const starts = host.records.map((r) => r.startedAt);
  assert.deepEqual(starts, ["2030-01-01T00:00:10.000Z", "2030-01-01T00:00:20.000Z", "2030-01-01T00:00:30.000Z"]);
  assert.equal(nextRunOf(s, "every10"), "2030-01-01T00:00:40.000Z");
});

test("a tick while the previous run is going is skipped and recorded; runs never overlap", async () => {
  const clock = new FakeClock("2030-01-01T00:00:00.000Z");
  const host = fakeHost();
  const s = new Scheduler(host, clock);
  s.update(manifest(period("slow", 1)), true);
  clock.advance(1000);
  clock.advance(1000);
  clock.advance(1000);
  assert.equal(host.calls.length, 1, "one run in flight, the two later ticks skipped");
  assert.deepEqual(host.records.map((r) => r.outcome), ["skipped", "skipped"]);
  assert.match(host.logs[1].line, /^tick of 2030-01-01T00:00:02\.000Z skipped: the previous run is still going$/);
  host.calls[0].resolve();
  await settled();
  clock.advance(1000);
  assert.equal(host.calls.length, 2, "the next tick after the run ended runs");
  assert.equal(s.status().slow.lastRun.outcome, "success");
});

test("fireNow runs a scheduled function now as a recorded tick, and is skipped while a run is in flight", async () => {
  const clock = new FakeClock("2030-06-01T12:00:00.000Z");
  const host = fakeHost();
  const s = new Scheduler(host, clock);
  s.update(manifest(cron("yearly", "0 0 1 1 *")), true);
  const first = s.fireNow("yearly");
  assert.equal(host.calls.length, 1);
  const second = await s.fireNow("yearly");
  assert.equal(second.outcome, "skipped");
  assert.equal(host.calls.length, 1, "no overlapping call");
  clock.advance(40);
  host.calls[0].resolve();
  const run = await first;
  assert.equal(run.outcome, "success");
  assert.equal(run.durationMs, 40);
  assert.equal(run.startedAt, "2030-06-01T12:00:00.000Z");
  assert.deepEqual(host.records.map((r) => r.outcome), ["skipped", "success"]);
  assert.equal(s.status().yearly.lastRun.id, run.id);
  assert.equal(nextRunOf(s, "yearly"), "2031-01-01T00:00:00.000Z", "the planned run is unchanged");
  await assert.rejects(s.fireNow("plain"), /"plain" is not a scheduled function/);
});

test("a failed run is recorded with its message and logs the first frames of its stack", async () => {
  const clock = new FakeClock("2030-01-01T00:00:00.000Z");
  const host = fakeHost();
  const s = new Scheduler(host, clock);
  s.update(manifest(period("bad", 60)), true);
  const pending = s.fireNow("bad");
  const error = new Error("db down");
  const worker = fileURLToPath(new URL("../../dist/engine/worker-main.cjs", import.meta.url));
  error.stack = [
    "Error: db down",
    ...Array.from({ length: 8 }, (_, i) => `    at step${i} (/srv/app/app.ts:${i + 1}:3)`),
    `    at call (file://${worker}:241:58)`,
    "    at process.emit (node:events:524:28)",
  ].join("\n");
  host.calls[0].reject(error);
  const run = await pending;
  assert.equal(run.outcome, "failure");
  assert.equal(run.error, "db down");
  const lines = host.logs.map((l) => l.line);
  assert.equal(lines[1], `run ${run.id} failure in 0 ms: db down`);
  assert.deepEqual(lines.slice(2), [0, 1, 2, 3, 4].map((i) => `    at step${i} (/srv/app/app.ts:${i + 1}:3)`));
  assert.equal(lines.length, 7);

  // The worker's and Node's own frames are left out; with no frame of the app's, they are all there is.
  const internal = s.fireNow("bad");
  const bare = new Error("x");
  bare.stack = `Error: x\n    at call (file://${worker}:241:58)\n    at process.emit (node:events:524:28)`;
  host.calls[1].reject(bare);
  await internal;
  assert.deepEqual(host.logs.slice(-2).map((l) => l.line), [`    at call (file://${worker}:241:58)`, "    at process.emit (node:events:524:28)"]);

  const timeout = s.fireNow("bad");
  host.calls[2].reject(Object.assign(new Error("timed out"), { name: "FunctionTimeoutError" }));
  assert.equal((await timeout).outcome, "timeout");
});

test("an update keeps a Cron's timer and restarts a Period when asked (a deploy), keeps it otherwise (a reload)", () => {
  const clock = new FakeClock("2030-01-01T00:00:00.000Z");
  const host = fakeHost();
  const s = new Scheduler(host, clock);
  const m = manifest(cron("daily", "0 3 * * *"), period("hourly", 3600));
  s.update(m, true);
  assert.deepEqual(clock.dueAt, ["2030-01-01T01:00:00.000Z", "2030-01-01T03:00:00.000Z"]);
  clock.advance(20 * 60_000);
  s.update(m, false);
  assert.equal(nextRunOf(s, "hourly"), "2030-01-01T01:00:00.000Z", "a reload keeps the Period's rhythm");
  s.update(m, true);
  assert.equal(nextRunOf(s, "hourly"), "2030-01-01T01:20:00.000Z", "a deploy restarts it");
  assert.equal(nextRunOf(s, "daily"), "2030-01-01T03:00:00.000Z");
  assert.deepEqual(clock.dueAt, ["2030-01-01T01:20:00.000Z", "2030-01-01T03:00:00.000Z"], "one timer each: the old ones are cleared");
  s.update(manifest(cron("daily", "0 4 * * *")), true);
  assert.deepEqual(clock.dueAt, ["2030-01-01T04:00:00.000Z"], "a changed expression re-arms; a dropped schedule is disarmed");
  s.stop();
  assert.deepEqual(clock.dueAt, []);
});

test("runs missed while the app was down or the process stalled are not back-filled", async () => {
  const clock = new FakeClock("2030-01-01T00:00:00.000Z");
  const host = fakeHost();
  const s = new Scheduler(host, clock);
  s.update(manifest(cron("minutely", "* * * * *")), true);
  clock.jump(10 * 60_000 + 5000); // ten planned runs pass while nothing fires
  clock.advance(0);
  assert.equal(host.calls.length, 1, "one late run, not ten");
  assert.equal(host.records.length, 0);
  host.calls[0].resolve();
  await settled();
  assert.equal(host.records[0].lateMs, 9 * 60_000 + 5000);
  assert.equal(nextRunOf(s, "minutely"), "2030-01-01T00:11:00.000Z");

  // A scheduler started after downtime plans from now: nothing for the past.
  const later = new Scheduler(fakeHost(), clock);
  later.update(manifest(cron("minutely", "* * * * *")), true);
  assert.equal(nextRunOf(later, "minutely"), "2030-01-01T00:11:00.000Z");
  s.stop();
  later.stop();
});
