import assert from "node:assert/strict";
import { test } from "node:test";
import { request, sandbox, waitUntil } from "../helpers.js";

// A web function and a function pool that scale down after 1 s idle.
const APP = `
import { App } from "nodal";
export const app = new App("shrink");
export const work = app.function({ minContainers: 1, maxContainers: 3, scaledownWindow: 1 }, async () => {
  await new Promise((r) => setTimeout(r, 400));
  return process.pid;
});
export const api = app.webEndpoint({ scaledownWindow: 1 }, async () => ({ pid: process.pid }));
export const fan = app.webEndpoint({ scaledownWindow: 1 }, async () => ({ pids: await Promise.all([work.remote(), work.remote(), work.remote()]) }));
`;

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function show(box, name = "shrink") {
  const res = await box.run(["app", "show", name, "--json"]);
  assert.equal(res.code, 0, res.stderr);
  return JSON.parse(res.stdout);
}

const fnOf = (shown, name) => shown.functions.find((f) => f.name === name);

async function deploy(box, args = []) {
  const dep = await box.run(["deploy", "app.ts", "--json", ...args], { timeoutMs: 60_000 });
  assert.equal(dep.code, 0, dep.stderr);
  return JSON.parse(dep.stdout).urls;
}

async function pidOf(url) {
  const res = await request(url);
  assert.equal(res.status, 200, res.body);
  return JSON.parse(res.body).pid;
}

/** Waits until `app show` says `fn` runs no worker because it was scaled to zero. */
function scaledToZero(box, fn, name) {
  return waitUntil(
    async () => {
      const c = fnOf(await show(box, name), fn).containers;
      return c.running === 0 && c;
    },
    { timeoutMs: 20_000, intervalMs: 100, what: `"${fn}" scaled to zero` },
  );
}

test("a deployed web function scales to zero after its window, and the next request starts a worker (200, never refused)", async (t) => {
  const box = sandbox(t, { "app.ts": APP });
  const urls = await deploy(box);
  const first = await pidOf(urls.api);

  const zero = await scaledToZero(box, "api");
  assert.equal(zero.reason, "scaled to zero after 1 s idle");
  await waitUntil(() => !alive(first), { timeoutMs: 15_000, what: `worker ${first} gone` });
  const shown = await show(box);
  assert.ok(!shown.workers.some((w) => w.function === "api"), JSON.stringify(shown.workers));
  assert.equal(shown.state, "deployed");

  // Several requests at once while nothing runs: all wait for the one worker that starts.
  const replies = await Promise.all(Array.from({ length: 5 }, () => request(urls.api, { timeoutMs: 15_000 })));
  assert.deepEqual(replies.map((r) => r.status), [200, 200, 200, 200, 200], replies.map((r) => r.body).join("\n"));
  const second = new Set(replies.map((r) => JSON.parse(r.body).pid));
  assert.equal(second.size, 1, "one worker started for the waiting requests");
  assert.ok(!second.has(first), "a new worker");
  const up = fnOf(await show(box), "api").containers;
  assert.equal(up.running, 1);

  const logs = await box.run(["app", "logs", "shrink", "--source", "system"]);
  assert.match(logs.stdout, /of "api" stopped after 1 s idle \(0 left\)/);
  assert.match(logs.stdout, /of "api" started for waiting requests in \d+ ms/);
});

test("a request loop across scale-downs and scale-ups has no failed request", async (t) => {
  const box = sandbox(t, { "app.ts": APP });
  const urls = await deploy(box);
  const outcomes = [];
  const pids = new Set();
  const once = async () => {
    const res = await request(urls.api, { timeoutMs: 15_000 }).catch((error) => ({ status: error.code ?? error.message }));
    outcomes.push(res.status);
    if (res.status === 200) pids.add(JSON.parse(res.body).pid);
  };
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 10; i++) await once();
    await scaledToZero(box, "api");
  }
  // Requests spaced around the window, so some arrive just as the worker is being stopped.
  for (const gapMs of [900, 1000, 1100, 1200, 1300, 1250, 1150, 1050]) {
    await once();
    await new Promise((r) => setTimeout(r, gapMs));
  }
  await once();
  assert.equal(outcomes.length, 39);
  assert.deepEqual(outcomes.filter((s) => s !== 200), [], `failed: ${outcomes.join(" ")}`);
  assert.ok(pids.size >= 3, `a new worker after each scale-down (pids: ${[...pids].join(", ")})`);
});

test("a function pool grows under calls, then scales down to minContainers", async (t) => {
  const box = sandbox(t, { "app.ts": APP });
  const urls = await deploy(box);
  await waitUntil(async () => fnOf(await show(box), "work").containers.running === 1, { timeoutMs: 15_000, what: "the minContainers worker up" });
  const res = await request(urls.fan, { timeoutMs: 20_000 });
  assert.equal(res.status, 200, res.body);
  const pids = [...new Set(JSON.parse(res.body).pids)];
  assert.equal(pids.length, 3, "three overlapping calls, three workers");

  const settled = await waitUntil(
    async () => {
      const c = fnOf(await show(box), "work").containers;
      return c.running === 1 && c;
    },
    { timeoutMs: 20_000, intervalMs: 100, what: '"work" down to minContainers' },
  );
  assert.equal(settled.reason, "minContainers");
  await waitUntil(() => pids.filter(alive).length === 1, { timeoutMs: 15_000, what: "two of the three workers gone" });
  const shown = await show(box);
  const workPids = shown.workers.filter((w) => w.function === "work").map((w) => w.pid);
  assert.equal(workPids.length, 1);
  assert.ok(pids.includes(workPids[0]), "the kept worker is one of the three");

  const text = await box.run(["app", "show", "shrink"]);
  assert.match(text.stdout, /1 \(minContainers\)/);
});

test("serve keeps its web worker warm past the window (a deployed copy scales to zero meanwhile)", async (t) => {
  const box = sandbox(t, { "app.ts": APP });
  const serve = box.spawn(["serve", "app.ts", "--no-schedules"]);
  await serve.waitFor(/http:\/\/127\.0\.0\.1:(\d+)/, { timeoutMs: 30_000 });
  const served = await waitUntil(async () => {
    const s = await show(box);
    return s.state === "ephemeral" && s;
  }, { timeoutMs: 30_000, what: "the served app listed" });
  const servedUrl = fnOf(served, "api").url;
  const before = await pidOf(servedUrl);

  // The deployed copy had its requests later than the served one: once it is at zero, the
  // served one has been idle longer than its window too.
  const urls = await deploy(box, ["--name", "shrink-deployed"]);
  await pidOf(urls.api);
  await scaledToZero(box, "api", "shrink-deployed");

  assert.ok(alive(before), "the served worker still runs");
  const after = await show(box);
  assert.deepEqual(fnOf(after, "api").containers, { running: 1, reason: "kept warm while served" });
  assert.equal(await pidOf(servedUrl), before, "the same worker answers");
});

test("a start from zero that fails answers the waiting request 503 after the bounded wait; a later request starts the worker", async (t) => {
  const box = sandbox(t);
  const marker = `${box.dir}/broken`;
  box.write({
    "app.ts": `
import { existsSync } from "node:fs";
import { App } from "nodal";
if (existsSync(${JSON.stringify(marker)})) throw new Error("marker present: refusing to start");
export const app = new App("fragile");
export const api = app.webEndpoint({ scaledownWindow: 1 }, async () => ({ pid: process.pid }));
`,
  });
  const dep = await box.run(["deploy", "app.ts", "--json"], { env: { NODAL_NO_WORKER_WAIT_MS: "1500" }, timeoutMs: 60_000 });
  assert.equal(dep.code, 0, dep.stderr);
  const url = JSON.parse(dep.stdout).urls.api;
  await pidOf(url);
  await scaledToZero(box, "api", "fragile");

  box.write({ broken: "" });
  const refused = await request(url, { timeoutMs: 15_000 });
  assert.equal(refused.status, 503);
  assert.match(JSON.parse(refused.body).error, /"api" has no worker ready/);
  const logs = await box.run(["app", "logs", "fragile", "--source", "system"]);
  assert.match(logs.stdout, /a worker of "api" could not start for waiting requests: .*marker present: refusing to start/);

  (await import("node:fs")).rmSync(marker);
  const back = await waitUntil(async () => {
    const res = await request(url, { timeoutMs: 15_000 });
    return res.status === 200 && res;
  }, { timeoutMs: 30_000, intervalMs: 100, what: "a worker started again" });
  assert.ok(JSON.parse(back.body).pid > 0);
  assert.equal(fnOf(await show(box, "fragile"), "api").containers.running, 1);
});

test("a worker holding a connection that has not sent its request yet is not idle", async (t) => {
  const box = sandbox(t, { "app.ts": APP });
  const urls = await deploy(box);
  const { connect } = await import("node:net");
  const socket = connect(Number(new URL(urls.api).port), "127.0.0.1");
  socket.on("error", () => {});
  t.after(() => socket.destroy());
  await new Promise((resolve) => socket.once("connect", resolve));
  // "fan" started with "api" and has the same window: once it went to zero twice (woken by a
  // request in between), "api" has been idle well past its window.
  await scaledToZero(box, "fan");
  assert.equal((await request(`${urls.fan}`, { timeoutMs: 15_000 })).status, 200);
  await scaledToZero(box, "fan");
  assert.equal(fnOf(await show(box), "api").containers.running, 1, "the open connection keeps its worker");
  socket.end("GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
  await scaledToZero(box, "api");
});

test("bufferContainers keeps a spare web worker beside a busy one, and both go once idle", async (t) => {
  const box = sandbox(t);
  const release = `${box.dir}/release`;
  box.write({
    "app.ts": `
import { existsSync } from "node:fs";
import { App } from "nodal";
export const app = new App("buffered");
export const slow = app.webEndpoint({ bufferContainers: 1, scaledownWindow: 1 }, async () => {
  while (!existsSync(${JSON.stringify(release)})) await new Promise((r) => setTimeout(r, 20));
  return { pid: process.pid };
});
`,
  });
  const dep = await box.run(["deploy", "app.ts", "--json"], { timeoutMs: 60_000 });
  assert.equal(dep.code, 0, dep.stderr);
  const url = JSON.parse(dep.stdout).urls.slow;
  const busy = request(url, { timeoutMs: 30_000 });
  const two = await waitUntil(
    async () => {
      const s = await show(box, "buffered");
      return s.workers.filter((w) => w.function === "slow").length === 2 && s;
    },
    { timeoutMs: 20_000, intervalMs: 100, what: "a spare worker beside the busy one" },
  );
  assert.equal(fnOf(two, "slow").containers.running, 2);
  box.write({ release: "" });
  assert.equal((await busy).status, 200);
  await scaledToZero(box, "slow", "buffered");
});
