import assert from "node:assert/strict";
import { test } from "node:test";
import { Scaler, shortfall, surplus, targetWorkers } from "../../dist/modules/engine/scaler.js";
import { FunctionPool } from "../../dist/modules/engine/function-pool.js";
import { checkOptions } from "../../dist/modules/sdk/options.js";

const policy = (o = {}) => ({ minContainers: 0, maxContainers: 10, concurrency: 1, bufferContainers: 0, scaledownWindowSec: 1, ...o });
const w = (name, inFlight, idleMs) => ({ worker: name, activity: { inFlight, idleMs } });

test("the target is minContainers when idle, and the work plus the buffer under load, within maxContainers", () => {
  assert.equal(targetWorkers(policy({ minContainers: 2 }), 0), 2);
  assert.equal(targetWorkers(policy(), 0), 0);
  assert.equal(targetWorkers(policy({ bufferContainers: 2 }), 0), 0, "no buffer without work");
  assert.equal(targetWorkers(policy({ bufferContainers: 2 }), 3), 5);
  assert.equal(targetWorkers(policy({ concurrency: 4, bufferContainers: 1 }), 5), 3, "ceil(5 / 4) + 1");
  assert.equal(targetWorkers(policy({ maxContainers: 3, bufferContainers: 5 }), 2), 3);
  assert.equal(targetWorkers(policy({ minContainers: 4, bufferContainers: 1 }), 1), 4);
  // A web function's load is one worker's worth, whatever its requests in flight.
  assert.equal(targetWorkers(policy({ concurrency: Infinity, bufferContainers: 1 }), 7), 2);
  assert.equal(targetWorkers(policy({ concurrency: Infinity }), 7), 1);
});

test("scaledownWindow and bufferContainers are validated with their ranges in the message", () => {
  assert.deepEqual(checkOptions("function", { scaledownWindow: 1, bufferContainers: 0 }), []);
  assert.deepEqual(checkOptions("web", { scaledownWindow: 2.5, bufferContainers: 3 }), []);
  assert.deepEqual(checkOptions("endpoint", { scaledownWindow: 0 }), ["scaledownWindow must be from 1 to 86400 seconds, got 0"]);
  assert.deepEqual(checkOptions("function", { scaledownWindow: "60" }), ['scaledownWindow must be from 1 to 86400 seconds, got "60"']);
  assert.deepEqual(checkOptions("web", { bufferContainers: -1 }), ["bufferContainers must be an integer from 0 to 100, got -1"]);
  assert.deepEqual(checkOptions("function", { bufferContainers: 1.5 }), ["bufferContainers must be an integer from 0 to 100, got 1.5"]);
});

test("only workers idle for the whole window stop, longest idle first, never below the target", () => {
  assert.deepEqual(surplus(policy(), [w("a", 0, 999), w("b", 0, 1000), w("c", 0, 5000)]), ["c", "b"]);
  assert.deepEqual(surplus(policy({ minContainers: 1 }), [w("a", 0, 3000), w("b", 0, 2000), w("c", 0, 4000)]), ["c", "a"]);
  assert.deepEqual(surplus(policy({ concurrency: 2 }), [w("busy", 2, 0), w("idle", 0, 9000)]), ["idle"]);
  assert.deepEqual(surplus(policy(), [w("busy", 2, 0), w("idle", 0, 9000)]), [], "two calls at concurrency 1 need two workers");
  assert.deepEqual(surplus(policy({ bufferContainers: 1 }), [w("busy", 1, 0), w("spare", 0, 9000)]), [], "the buffer stays under load");
  assert.deepEqual(surplus(policy({ scaledownWindowSec: 60 }), [w("a", 0, 59_999)]), []);
});

test("under load the buffer is started; without load nothing is", () => {
  assert.equal(shortfall(policy({ bufferContainers: 2 }), [w("a", 1, 0)], 0), 2);
  assert.equal(shortfall(policy({ bufferContainers: 2 }), [w("a", 1, 0)], 1), 1, "one already starting");
  assert.equal(shortfall(policy({ bufferContainers: 2 }), [w("a", 0, 0)], 0), 0);
});

/** A timer seam the test fires by hand. */
function fakeTimers() {
  const timers = new Set();
  return {
    timers,
    every(ms, run) {
      const t = { ms, run };
      timers.add(t);
      return () => timers.delete(t);
    },
  };
}

function fakeGroup(p, workers) {
  const g = {
    policy: p,
    starting: 0,
    workers,
    stopped: [],
    started: 0,
    survey: async () => g.workers.map(([name, inFlight, idleMs]) => w(name, inFlight, idleMs)),
    scaleDown: (name) => {
      g.stopped.push(name);
      g.workers = g.workers.filter(([n]) => n !== name);
    },
    scaleUp: () => void g.started++,
  };
  return g;
}

test("the scaler looks a few times per window, stops idle workers and starts buffers on its ticks", async () => {
  const timers = fakeTimers();
  const scaler = new Scaler(timers);
  const idle = fakeGroup(policy({ minContainers: 1 }), [["a", 0, 1500], ["b", 0, 200]]);
  const loaded = fakeGroup(policy({ scaledownWindowSec: 60, bufferContainers: 1 }), [["c", 1, 0]]);
  scaler.watch("idle", idle);
  assert.equal(scaler.everyMs, 250, "a quarter of a 1 s window, at least 250 ms");
  scaler.unwatch("idle");
  scaler.watch("loaded", loaded);
  assert.equal(scaler.everyMs, 5000, "at most 5 s");
  assert.equal(timers.timers.size, 1, "one timer at a time");
  scaler.watch("idle", idle);
  assert.equal(timers.timers.size, 1);
  assert.equal([...timers.timers][0].ms, 250);

  [...timers.timers][0].run();
  await scaler.tick(); // a tick already running: this one is skipped, so wait on a fresh one
  await scaler.tick();
  assert.deepEqual(idle.stopped, ["a"], "down to minContainers, the one idle past the window");
  assert.ok(loaded.started >= 1, "a buffer started beside the busy worker");
  assert.deepEqual(loaded.stopped, []);

  scaler.close();
  assert.equal(timers.timers.size, 0, "no timer once closed");
});

/** A worker without a process that answers each call on the next turn. */
function answeringWorker() {
  let exit;
  const listeners = [];
  const wk = {
    alive: true,
    exited: new Promise((r) => (exit = r)),
    onMessage: (l) => (listeners.push(l), () => {}),
    post(msg) {
      if (!wk.alive) return false;
      if (msg.t === "call") setImmediate(() => listeners.forEach((l) => l({ t: "result", id: msg.id, ok: true, value: "done" }, wk)));
      return true;
    },
    stop: async () => wk.die(),
    die() {
      if (!wk.alive) return;
      wk.alive = false;
      exit({ code: 0, signal: null });
    },
  };
  return wk;
}

const spec = {
  name: "pooled",
  kind: "function",
  timeoutSec: 30,
  retries: { maxRetries: 0, backoffCoefficient: 2, initialDelaySec: 1, maxDelaySec: 60 },
  concurrency: 1,
  minContainers: 1,
  maxContainers: 3,
  scaledownWindowSec: 2,
  bufferContainers: 0,
  volumes: {},
  secretNames: [],
  env: {},
  secretValues: [],
};

test("a pool's workers idle past the window (on the pool's clock) stop down to minContainers", async (t) => {
  let now = 1_000_000;
  const made = [];
  const pool = new FunctionPool(spec, async () => {
    const wk = answeringWorker();
    made.push(wk);
    return wk;
  }, () => now);
  t.after(() => pool.close(0));
  const scaler = new Scaler(fakeTimers());
  scaler.watch("pooled", pool);

  assert.deepEqual(await Promise.all([pool.call([]), pool.call([]), pool.call([])]), ["done", "done", "done"]);
  assert.equal(pool.workers.length, 3);
  assert.deepEqual((await pool.survey()).map((s) => s.activity), [0, 0, 0].map(() => ({ inFlight: 0, idleMs: 0 })));

  now += 1999;
  await scaler.tick();
  assert.equal(pool.workers.length, 3, "not idle for the whole window yet");

  now += 1;
  await scaler.tick();
  assert.equal(pool.workers.length, 1, "down to minContainers");
  assert.equal(made.filter((m) => m.alive).length, 1, "the others were stopped");
  assert.equal(pool.scaledToZero, false);

  // A call resets its worker's idle time.
  assert.equal(await pool.call([]), "done");
  now += 1000;
  const [kept] = await pool.survey();
  assert.deepEqual(kept.activity, { inFlight: 0, idleMs: 1000 });
  scaler.close();
});

test("a pool with minContainers 0 scales to zero and starts a worker for the next call", async (t) => {
  let now = 0;
  const made = [];
  const pool = new FunctionPool({ ...spec, minContainers: 0 }, async () => {
    const wk = answeringWorker();
    made.push(wk);
    return wk;
  }, () => now);
  t.after(() => pool.close(0));
  const scaler = new Scaler(fakeTimers());
  scaler.watch("pooled", pool);
  assert.equal(await pool.call([]), "done");
  now += 2000;
  await scaler.tick();
  assert.equal(pool.workers.length, 0);
  assert.equal(pool.scaledToZero, true);
  assert.equal(await pool.call([]), "done");
  assert.equal(made.length, 2, "a fresh worker");
  assert.equal(pool.scaledToZero, false);
  scaler.close();
});

test("a pool with bufferContainers starts a spare worker beside a busy one, and keeps it while the work goes on", async (t) => {
  let now = 0;
  const made = [];
  const held = [];
  const pool = new FunctionPool({ ...spec, minContainers: 0, bufferContainers: 1 }, async () => {
    const wk = answeringWorker();
    // The first worker keeps its calls: they stay in flight until the test ends.
    if (made.length === 0) wk.post = (msg) => (msg.t === "call" && held.push(msg), wk.alive);
    made.push(wk);
    return wk;
  }, () => now);
  t.after(() => pool.close(0));
  const scaler = new Scaler(fakeTimers());
  scaler.watch("pooled", pool);
  const pending = pool.call([]);
  pending.catch(() => {});
  await waitFor(() => held.length === 1);
  assert.equal(pool.workers.length, 1);
  await scaler.tick();
  await waitFor(() => pool.workers.length === 2);
  assert.deepEqual((await pool.survey()).map((s) => s.activity.inFlight).sort(), [0, 1]);
  now += 5000;
  await scaler.tick();
  assert.equal(pool.workers.length, 2, "the spare stays while the call runs");
  assert.equal(made.filter((m) => m.alive).length, 2);
  scaler.close();
});

async function waitFor(fn) {
  for (let i = 0; i < 500 && !fn(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(fn(), "condition reached");
}
