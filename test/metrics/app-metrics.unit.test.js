import { test } from "node:test";
import assert from "node:assert/strict";
import { AppMetrics, procStats } from "../../dist/modules/metrics/app-metrics.js";

test("calls, errors, timeouts, in-flight and quantiles per function", async () => {
  const m = new AppMetrics();
  const a = m.callStarted("work");
  const b = m.callStarted("work");
  let stats = await m.snapshot([{ name: "work", kind: "function" }], [], {}, {});
  assert.equal(stats.functions[0].inFlight, 2);
  assert.equal(stats.functions[0].p50Ms, null);
  a("success", 10);
  b("timeout", 30);
  m.callStarted("work")("failure", 20);
  stats = await m.snapshot([{ name: "work", kind: "function" }], [], { work: 2 }, {});
  const f = stats.functions[0];
  assert.deepEqual([f.calls, f.errors, f.timeouts, f.inFlight, f.restarts], [3, 2, 1, 0, 2]);
  assert.equal(f.p50Ms, 20);
});

test("a web worker's batches count requests, 5xx answers and latency", async () => {
  const m = new AppMetrics();
  m.webBatch("api", { requests: 3, errors: 1, durations: [1, 2, 3] });
  m.webBatch("api", { requests: 1, errors: 0, durations: [4] });
  const [f] = (await m.snapshot([{ name: "api", kind: "web" }], [{ pid: process.pid, function: "api", id: "w1" }], {}, {})).functions;
  assert.deepEqual([f.calls, f.errors], [4, 1]);
  assert.ok(f.p95Ms >= 3 && f.p95Ms <= 4, String(f.p95Ms));
  assert.equal(f.containers.length, 1);
  assert.ok(f.containers[0].rssBytes > 1024 * 1024, "RSS of this process from /proc");
  const text = await m.prometheus({ app: "demo" });
  assert.match(text, /nodal_calls_total\{function="api",kind="web",outcome="success",app="demo"\} 3/);
});

test("procStats of a pid that is gone is zeros", () => {
  assert.deepEqual(procStats(2 ** 22 + 12345), { rssBytes: 0, cpuSeconds: 0 });
});

test("calls ended between reads are all counted; their quantiles come from a sample of them", async () => {
  const m = new AppMetrics();
  // 1000 calls of 1..1000 ms end before the next read: more than one batch's sample holds.
  for (let ms = 1; ms <= 1000; ms++) m.callStarted("busy")(ms % 10 === 0 ? "failure" : "success", ms);
  const open = m.callStarted("busy");
  const [f] = (await m.snapshot([{ name: "busy", kind: "function" }], [], {}, {})).functions;
  assert.deepEqual([f.calls, f.errors, f.inFlight], [1000, 100, 1]);
  assert.ok(f.p50Ms > 200 && f.p50Ms < 800, `p50 from the sample: ${f.p50Ms}`);
  open("success", 5);
  const text = await m.prometheus({ app: "demo" });
  assert.match(text, /nodal_calls_total\{function="busy",kind="function",outcome="success",app="demo"\} 901/);
  assert.match(text, /nodal_calls_in_flight\{function="busy",app="demo"\} 0/);
});
