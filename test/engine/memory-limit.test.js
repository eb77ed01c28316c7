import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { request, sandbox, waitUntil } from "../helpers.js";

// `hog` grows past its 96 MiB limit in Buffers, outside the V8 heap: the RSS watchdog stops
// it; "small" returns at once; each attempt is traced. `heapHog` fills its V8 heap faster than
// RSS readings come: with 256 MiB (a 160 MiB heap, and ~70 MiB besides) the heap limit ends it first.
const app = (trace) => `
import { appendFileSync } from "node:fs";
import { App } from "nodal";
export const app = new App("hogs");
const held = [];
async function grow() {
  // 4 MiB every 20 ms, up to 1 GiB: far past the limit, slowly enough to be watched.
  for (let i = 0; i < 256; i++) {
    held.push(Buffer.alloc(4 << 20, 1));
    await new Promise((r) => setTimeout(r, 20));
  }
  return "never stopped";
}
export const hog = app.function({ memory: 96, retries: 1 }, async (how) => {
  appendFileSync(${JSON.stringify(trace)}, how + "\\n");
  if (how === "small") return "fine";
  return grow();
});
export const heapHog = app.function({ memory: 256 }, () => {
  // 8 MiB arrays of doubles, synchronously.
  for (let i = 0; ; i++) held.push(new Array(1 << 20).fill(i + 0.5));
});
export const web = app.webApp({ memory: 96 }, () => (req, res) => {
  if (req.url === "/grow") return void grow();
  res.end("up");
});
`;

async function deployed(t) {
  const box = sandbox(t);
  const trace = join(box.dir, "trace.log");
  box.write({ "app.ts": app(trace) });
  const dep = await box.run(["deploy", "app.ts", "--json"], { timeoutMs: 60_000 });
  assert.equal(dep.code, 0, dep.stderr);
  return { box, trace, url: JSON.parse(dep.stdout).urls.web };
}

const systemLogs = async (box) => (await box.run(["app", "logs", "hogs", "--source", "system"])).stdout;
const attempts = (trace) => readFileSync(trace, "utf8").trim().split("\n");

test("a function over its memory limit (its RSS, or its heap) fails saying so, each retry too; the next call gets a fresh worker", async (t) => {
  const { box, trace } = await deployed(t);
  const over = await box.run(["app", "run", "hogs::hog", "--input", '"rss"'], { timeoutMs: 60_000 });
  assert.equal(over.code, 1);
  assert.match(over.stderr, /^Error: MemoryLimitError: "hog" exceeded its memory limit of 96 MiB; its worker was stopped\n/);
  assert.deepEqual(attempts(trace), ["rss", "rss"], "retries apply");

  const heap = await box.run(["app", "run", "hogs::heapHog"], { timeoutMs: 60_000 });
  assert.equal(heap.code, 1);
  assert.match(heap.stderr, /^Error: MemoryLimitError: "heapHog" exceeded its memory limit of 256 MiB; its worker was stopped\n/);

  const next = await box.run(["app", "run", "hogs::hog", "--input", '"small"']);
  assert.equal(next.code, 0, next.stderr);
  assert.equal(JSON.parse(next.stdout), "fine");

  const logs = await systemLogs(box);
  const stops = logs.match(/worker w\d+ of "hog" exceeded its memory limit of 96 MiB \(RSS \d+ MiB\) and was stopped; a new worker takes the next call/g) ?? [];
  assert.equal(stops.length, 2, logs);
  assert.match(logs, /worker w\d+ of "heapHog" exceeded its memory limit of 256 MiB \(heap out of memory\) and was stopped/);

  const shown = JSON.parse((await box.run(["app", "show", "hogs", "--json"])).stdout);
  assert.deepEqual(shown.memoryStops, { hog: 2, heapHog: 1 });
  const human = (await box.run(["app", "show", "hogs"])).stdout;
  assert.match(human, /memory\s+hog: 2 workers stopped over the memory limit; heapHog: 1 worker stopped over the memory limit/);

  const calls = JSON.parse((await box.run(["app", "calls", "hogs", "--json"])).stdout);
  const failed = calls.filter((c) => c.function === "hog" && c.outcome === "failure");
  assert.equal(failed.length, 1, JSON.stringify(calls));
  assert.match(failed[0].error, /exceeded its memory limit of 96 MiB/);
});

test("a web worker over its memory limit is restarted, the log naming the limit, and serves again", async (t) => {
  const { box, url } = await deployed(t);
  assert.equal((await request(url)).body, "up");
  // The worker is stopped mid-request: this request fails or gets a 5xx, never "up".
  const cut = await request(`${url}/grow`, { timeoutMs: 30_000 }).catch((e) => ({ status: 0, body: String(e) }));
  assert.notEqual(cut.body, "up");
  const show = await waitUntil(
    async () => {
      const s = JSON.parse((await box.run(["app", "show", "hogs", "--json"])).stdout);
      return s.health.web?.restarts >= 1 && s.health.web.state === "ready" && s;
    },
    { timeoutMs: 30_000, intervalMs: 100, what: "the web worker restarted" },
  );
  assert.equal(show.health.web.lastExit.signal, "SIGKILL");
  assert.deepEqual(show.memoryStops, { web: 1 });
  const again = await request(url);
  assert.equal(again.status, 200);
  assert.equal(again.body, "up");
  const logs = await systemLogs(box);
  assert.match(logs, /worker w\d+ of "web" exceeded its memory limit of 96 MiB \(RSS \d+ MiB\) and was stopped; restarting in \d+ ms/);
  assert.match(logs, /worker w\d+ of "web" restarted/);
});

test("memory outside 64 to 65536 MiB, or not an integer, is refused naming the range", async (t) => {
  const box = sandbox(t, {
    "app.ts": `
import { App } from "nodal";
export const app = new App("bad");
export const small = app.function({ memory: 32 }, () => 1);
export const odd = app.webApp({ memory: 100.5 }, () => (_req, res) => res.end());
`,
  });
  const res = await box.run(["run", "app.ts::small"]);
  assert.equal(res.code, 1);
  assert.match(res.stderr, /memory must be an integer from 64 to 65536 \(MiB\), got 32/);
  assert.match(res.stderr, /memory must be an integer from 64 to 65536 \(MiB\), got 100\.5/);
  assert.doesNotMatch(res.stderr, /^\s+at /m, "no stack");
});
