// The engine's call seam: functions a transport handles get no local pool and their calls go
// to it; the others stay in local worker pools. (The transport here is a recorder: what is
// under test is the engine's choice, not Redis.)
import assert from "node:assert/strict";
import { test } from "node:test";
import { Engine } from "../../dist/modules/engine/engine.js";
import { waitUntil } from "../helpers.js";

const spec = (name) => ({
  name,
  kind: "function",
  timeoutSec: 300,
  retries: { maxRetries: 0, backoffCoefficient: 2, initialDelaySec: 1, maxDelaySec: 60 },
  concurrency: 1,
  minContainers: 1,
  maxContainers: 1,
  volumes: {},
  secretNames: [],
  env: {},
  secretValues: [],
});
const manifest = { appName: "seam", hasLocalEntrypoint: false, functions: [spec("remote_fn"), spec("local_fn")] };
const build = { file: "/nonexistent/app.mjs", hash: "h1", inputs: [], externals: [], ms: 0 };

let nextPid = 2_000_000;
class FakeWorker {
  constructor() {
    this.id = `s${nextPid}`;
    this.pid = nextPid++;
    this.alive = true;
    this.exited = new Promise((resolve) => (this.end = () => ((this.alive = false), resolve({ code: 0, signal: null }))));
  }
  setLineHandler() {}
  onMessage() {
    return () => {};
  }
  send() {
    return this.alive;
  }
  async load() {
    return manifest;
  }
  async start(fn) {
    this.fn = fn;
  }
  async stop() {
    this.end();
  }
  async drain() {
    this.end();
  }
  kill() {
    this.end();
  }
}

test("calls of a function the transport handles go to it with the app and the spec; it gets no local worker", async (t) => {
  const sent = [];
  let ids = 0;
  const calls = {
    handles: (fn) => fn === "remote_fn",
    newCallId: (app, fn) => `${app}.${fn}.${++ids}`,
    call: async (app, s, args, opts) => {
      sent.push([app, s.name, s.timeoutSec, args, opts.callId]);
      return "from elsewhere";
    },
  };
  const e = new Engine({ file: "app.ts", host: "127.0.0.1", basePort: 0, serveWeb: false, spares: 0, onLog: () => {}, newWorker: () => new FakeWorker(), calls });
  t.after(() => e.stop(0));
  await e.activate(build);
  // minContainers 1 each: only the local function warms a worker.
  await waitUntil(() => e.workers.length === 1, { what: "the local function's warm worker" });
  assert.deepEqual(e.workers.map((w) => w.function), ["local_fn"]);
  assert.equal(await e.call("remote_fn", [3, { a: 1 }]), "from elsewhere");
  assert.deepEqual(sent, [["seam", "remote_fn", 300, [3, { a: 1 }], "seam.remote_fn.1"]]);
  // The caller records the call under the id it travels with (the replica records it under the same).
  assert.deepEqual(
    e.calls.list("remote_fn").map((c) => [c.id, c.outcome]),
    [["seam.remote_fn.1", "success"]],
  );
  // An unknown function is still the app's error, not the transport's.
  await assert.rejects(e.call("nope", []), (err) => err.code === "E_NOT_FOUND" && err.hint === "its functions: remote_fn, local_fn");
  assert.equal(sent.length, 1);
});

test("a container's engine (recordCalls: false) runs calls but keeps no call log or metrics; by default both are kept", async (t) => {
  const calls = { handles: (fn) => fn === "remote_fn", newCallId: (app, fn) => `${app}.${fn}.x`, call: async () => "from elsewhere" };
  const make = (recordCalls) => {
    const e = new Engine({ file: "app.ts", host: "127.0.0.1", basePort: 0, serveWeb: false, spares: 0, onLog: () => {}, newWorker: () => new FakeWorker(), calls, recordCalls });
    t.after(() => e.stop(0));
    return e;
  };
  const stats = async (e) => (await e.metrics.snapshot([{ name: "remote_fn", kind: "function" }], [], {}, {})).functions[0];
  const pod = make(false);
  await pod.activate(build);
  assert.equal(await pod.call("remote_fn", [1]), "from elsewhere");
  await assert.rejects(pod.call("nope", []), (err) => err.code === "E_NOT_FOUND");
  assert.deepEqual(pod.calls.list(), []);
  assert.equal((await stats(pod)).calls, 0);

  const kept = make(undefined);
  await kept.activate(build);
  assert.equal(await kept.call("remote_fn", [1]), "from elsewhere");
  assert.deepEqual(kept.calls.list().map((c) => [c.id, c.outcome]), [["seam.remote_fn.x", "success"]]);
  assert.equal((await stats(kept)).calls, 1);
});
