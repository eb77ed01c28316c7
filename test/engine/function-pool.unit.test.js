import assert from "node:assert/strict";
import { test } from "node:test";
import { FunctionPool, retryDelaySec } from "../../dist/modules/engine/function-pool.js";
import { waitUntil } from "../helpers.js";

test("retry delays follow Modal: min(initialDelay × coefficient^(n-1), maxDelay)", () => {
  const policy = { maxRetries: 4, initialDelaySec: 1, backoffCoefficient: 2, maxDelaySec: 5 };
  assert.deepEqual([1, 2, 3, 4].map((n) => retryDelaySec(policy, n)), [1, 2, 4, 5]);
  const fixed = { maxRetries: 3, initialDelaySec: 1, backoffCoefficient: 1, maxDelaySec: 1 };
  assert.deepEqual([1, 2, 3].map((n) => retryDelaySec(fixed, n)), [1, 1, 1]);
});

/** A worker without a process, for a pool: it takes calls and answers none; `die()` ends it. */
function fakeWorker() {
  let exit;
  const w = {
    alive: true,
    exited: new Promise((r) => (exit = r)),
    onMessage: () => () => {},
    send: () => w.alive,
    post: () => w.alive,
    stop: async () => w.die(),
    die() {
      if (!w.alive) return;
      w.alive = false;
      exit({ code: 1, signal: null });
    },
  };
  return w;
}

const spec = {
  name: "warmish",
  kind: "function",
  timeoutSec: 30,
  retries: { maxRetries: 0, backoffCoefficient: 2, initialDelaySec: 1, maxDelaySec: 60 },
  concurrency: 1,
  minContainers: 1,
  maxContainers: 2,
  volumes: {},
  secretNames: [],
  env: {},
  secretValues: [],
};

test("a warm worker that cannot start, or dies, is tried again until one runs", async (t) => {
  let failures = 2;
  const made = [];
  const pool = new FunctionPool(spec, async () => {
    if (failures-- > 0) throw new Error("cannot start");
    const w = fakeWorker();
    made.push(w);
    return w;
  });
  t.after(() => pool.close(0));
  await pool.warm();
  assert.equal(pool.workers.length, 0, "the first attempt failed");
  await waitUntil(() => pool.workers.length === 1, { what: "a warm worker after two failed starts" });
  made[0].die();
  await waitUntil(() => pool.workers.length === 1 && made.length === 2, { what: "the dead warm worker replaced" });
  await pool.close(0);
  assert.ok(made.every((w) => !w.alive));
});

/** A worker without a process that keeps the calls posted to it; the test answers them. */
function heldWorker() {
  const w = fakeWorker();
  const listeners = [];
  w.id = "w9";
  w.stderrTail = "";
  w.calls = [];
  w.onMessage = (l) => (listeners.push(l), () => {});
  w.post = (msg) => (msg.t === "call" && w.calls.push(msg), w.alive);
  w.answer = (call, value) => listeners.forEach((l) => l({ t: "result", id: call.id, ok: true, value }, w));
  return w;
}

test("a worker's death fails exactly the calls in flight on it; calls answered before are untouched", async (t) => {
  const w = heldWorker();
  const pool = new FunctionPool({ ...spec, minContainers: 0, maxContainers: 1, concurrency: 3 }, async () => w);
  t.after(() => pool.close(0));
  const first = pool.call([1]);
  await waitUntil(() => w.calls.length === 1, { what: "the first call posted" });
  w.answer(w.calls[0], "one");
  assert.equal(await first, "one");
  const inFlight = [pool.call([2]), pool.call([3])];
  await waitUntil(() => w.calls.length === 3, { what: "two more calls posted" });
  w.die();
  const settled = await Promise.allSettled(inFlight);
  assert.deepEqual(settled.map((s) => s.status), ["rejected", "rejected"]);
  for (const s of settled) assert.match(s.reason.message, /^function "warmish": its worker w9 died during the call$/);
  assert.equal(pool.workers.length, 0, "the dead worker left the pool");
});

test("calls still running when a closing pool stops its worker are cut off, naming the call and its attempt", async () => {
  const w = heldWorker();
  const pool = new FunctionPool({ ...spec, minContainers: 0, maxContainers: 1, concurrency: 2 }, async () => w);
  const call = pool.call(["x"], { label: "sched-1" });
  await waitUntil(() => w.calls.length === 1, { what: "the call posted" });
  await pool.close(0);
  await assert.rejects(call, (e) => e.name === "CallCutOffError" && e.call === "sched-1" && e.attempt === 0 && /call sched-1 was cut off/.test(e.message));
});
