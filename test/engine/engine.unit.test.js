import assert from "node:assert/strict";
import { test } from "node:test";
import { Engine } from "../../dist/modules/engine/engine.js";
import { waitUntil } from "../helpers.js";

const manifest = {
  appName: "fake",
  hasLocalEntrypoint: false,
  functions: [
    {
      name: "api",
      kind: "web",
      timeoutSec: 300,
      retries: { maxRetries: 0, backoffCoefficient: 2, initialDelaySec: 1, maxDelaySec: 60 },
      concurrency: 1,
      minContainers: 0,
      maxContainers: 1,
      volumes: {},
      secretNames: [],
      env: {},
      secretValues: [],
    },
  ],
};
const build = { file: "/nonexistent/app.mjs", hash: "h1", inputs: [], externals: [], ms: 0 };

let nextPid = 1_000_000;

/** A Worker without a process: `load` fails while `failLoads` says so; `crash()` ends it. */
class FakeWorker {
  static failLoads = 0;
  constructor() {
    this.id = `f${nextPid}`;
    this.pid = nextPid++;
    this.alive = true;
    this.stderrTail = "";
    this.booted = Promise.resolve();
    this.exited = new Promise((resolve) => (this.#exit = resolve));
  }
  #exit;
  #end(code, signal = null) {
    if (!this.alive) return;
    this.alive = false;
    this.#exit({ code, signal });
  }
  crash(code) {
    this.#end(code);
  }
  setLineHandler() {}
  onMessage() {
    return () => {};
  }
  send() {
    return this.alive;
  }
  post() {
    return this.alive;
  }
  async load() {
    if (FakeWorker.failLoads > 0) {
      FakeWorker.failLoads--;
      throw new Error("import failed");
    }
    return manifest;
  }
  async start(fn, opts = {}) {
    this.fn = fn;
    this.startOpts = opts;
  }
  async stop() {
    this.#end(null, "SIGTERM");
  }
  /** A drain ends the worker at once, unless `busy` (a request that never finishes). */
  async drain(graceMs) {
    this.drainedWithMs = graceMs;
    if (!this.busy) this.#end(0);
    await this.exited;
  }
  kill() {
    this.#end(null, "SIGKILL");
  }
}

function engine(t, extra = {}) {
  FakeWorker.failLoads = 0;
  const events = [];
  const made = [];
  const e = new Engine({
    file: "app.ts",
    host: "127.0.0.1",
    basePort: 0,
    serveWeb: true,
    spares: 0,
    onLog: () => {},
    onEvent: (ev) => events.push(ev),
    newWorker: () => {
      const w = new FakeWorker();
      made.push(w);
      return w;
    },
    ...extra,
  });
  t.after(() => e.stop(0));
  return { e, events, made };
}

test("web workers count requests, except under an engine that records nothing (a pod's), whose workers are told not to, restarts included", async (t) => {
  const counted = engine(t);
  await counted.e.activate(build);
  assert.deepEqual(counted.e.current.web.get("api")[0].startOpts, { count: true });
  const pod = engine(t, { recordCalls: false });
  await pod.e.activate(build);
  const [first] = pod.e.current.web.get("api");
  assert.deepEqual(first.startOpts, { count: false });
  first.crash(1);
  await waitUntil(() => pod.events.some((ev) => ev.type === "worker-restarted"), { what: "a restart", timeoutMs: 10_000 });
  assert.deepEqual(pod.e.current.web.get("api")[0].startOpts, { count: false });
});

test("a crashed web worker whose restarts fail is retried with a growing delay until one starts", async (t) => {
  const { e, events } = engine(t);
  await e.activate(build);
  assert.deepEqual(e.health.api, { state: "ready", restarts: 0 });
  const [first] = e.current.web.get("api");
  FakeWorker.failLoads = 2;
  first.crash(3);
  await waitUntil(() => events.some((ev) => ev.type === "worker-restarted"), { what: "a restart that works", timeoutMs: 10_000 });
  assert.deepEqual(
    events.map((ev) => [ev.type, ev.restartInMs ?? ev.error?.match(/next attempt in (\d+) ms/)?.[1]]),
    [
      ["worker-exit", 100],
      ["worker-restart-failed", "200"],
      ["worker-restart-failed", "400"],
      ["worker-restarted", undefined],
    ],
  );
  const health = e.health.api;
  assert.equal(health.state, "ready");
  assert.equal(health.restarts, 3);
  assert.equal(health.lastExit.code, 3);
  assert.equal(health.nextAttemptAt, undefined);
  assert.equal(e.current.web.get("api").length, 1);
  assert.notEqual(e.current.web.get("api")[0], first);
});

test("while a restart is due, health says restarting with the next attempt; a stop cancels it", async (t) => {
  const { e, events, made } = engine(t);
  await e.activate(build);
  FakeWorker.failLoads = 1_000;
  e.current.web.get("api")[0].crash(1);
  await waitUntil(() => events.filter((ev) => ev.type === "worker-restart-failed").length >= 1, { what: "a failed restart" });
  const health = e.health.api;
  assert.equal(health.state, "restarting");
  assert.ok(health.restarts >= 1);
  assert.ok(Date.parse(health.nextAttemptAt) > Date.now() - 1000);
  // The stop wakes the pending restart, which then gives way instead of starting a worker.
  const count = made.length;
  await e.stop();
  await new Promise((r) => setImmediate(r));
  assert.equal(made.length, count, "no worker made after the stop");
  assert.ok(made.every((w) => !w.alive), "every worker ended");
});

test("a second stop with no grace kills the workers the first one is waiting for", async (t) => {
  const { e, made } = engine(t);
  await e.activate(build);
  const [worker] = e.current.web.get("api");
  worker.busy = true;
  let firstDone = false;
  const first = e.stop().then(() => (firstDone = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(firstDone, false, "the first stop waits for the busy worker");
  await e.stop(0);
  await first;
  assert.equal((await worker.exited).signal, "SIGKILL");
  assert.ok(made.every((w) => !w.alive));
});

test("a swap lets the old version's web worker drain for its function's timeout, not a fixed grace", async (t) => {
  const { e } = engine(t);
  await e.activate(build);
  const [old] = e.current.web.get("api");
  await e.activate({ ...build, hash: "h2" });
  assert.notEqual(e.current.web.get("api")[0], old);
  await old.exited;
  assert.equal(old.drainedWithMs, manifest.functions[0].timeoutSec * 1000);
});

test("a stop lets each web worker drain for its function's timeout; a cap (--grace) shortens it", async (t) => {
  const { e } = engine(t);
  await e.activate(build);
  const [worker] = e.current.web.get("api");
  await e.stop();
  assert.equal(worker.drainedWithMs, manifest.functions[0].timeoutSec * 1000);

  const capped = engine(t).e;
  await capped.activate(build);
  const [other] = capped.current.web.get("api");
  await capped.stop(1500);
  assert.equal(other.drainedWithMs, 1500);
});
