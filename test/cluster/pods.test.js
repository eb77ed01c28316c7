// Cluster mode: pods on one machine, each a spawned `nodal start --cluster`, calling each other
// through a real redis-server.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { request, sandbox, waitUntil } from "../helpers.js";
import { freePorts, startRedis } from "./redis.js";

const SDK = JSON.stringify(new URL("../../dist/sdk/index.js", import.meta.url).href);

const app = `
import { appendFileSync } from "node:fs";
import { App, Function, Retries } from "nodal";
export const app = new App("clu");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const note = (line: string) => appendFileSync(process.env.SIDE_FILE!, line + "\\n");
// ppid: the nodal start process (the pod) whose worker ran the call.
export const square = app.function({ maxContainers: 2 }, async (x: number) => { await sleep(30); return { y: x * x, pod: process.ppid }; });
export const slow = app.function({ timeout: 30 }, async (ms: number) => { note("slow " + process.ppid); await sleep(ms); return process.ppid; });
export const tally = app.function({ maxContainers: 4 }, async (i: number) => { note("tally " + i); return process.ppid; });
export const fail = app.function({ retries: new Retries({ maxRetries: 1, initialDelay: 0 }) }, async () => { note("fail " + process.ppid); throw new RangeError("always fails"); });
export const late = app.function({ timeout: 1 }, async () => { await sleep(10_000); return "never"; });
export const clone = app.function({}, async (m: Map<string, Date>) => new Map([...m].map(([k, d]) => [k, new Date(d.getTime() + 1000)])));
export const api = app.webEndpoint({}, async (q: Record<string, string>) => {
  const n = Number(q.n ?? 0);
  try {
    switch (q.op) {
      case "square": return await Promise.all(Array.from({ length: n }, (_, i) => square.remote(i)));
      case "slow": return await slow.remote(n);
      case "map": { const pods: number[] = []; for await (const p of tally.map(Array.from({ length: n }, (_, i) => i))) pods.push(p); return pods; }
      case "fail": return await fail.remote();
      case "late": return await late.remote();
      case "clone": { const m = await clone.remote(new Map([["a", new Date(0)]])); return [m instanceof Map, m.get("a") instanceof Date, m.get("a").getTime()]; }
      case "spawn": return (await slow.spawn(n)).id;
      case "fromName": return (await Function.fromName("clu", "square").remote(n)).y;
    }
  } catch (e: any) {
    return { error: { name: e.name, message: e.message, stack: e.stack } };
  }
});
`;

/** Redis, a web pod (api) and two replicas of every other function. */
async function cluster(t) {
  const box = sandbox(t, { "app.ts": app });
  // Stopped after the pods (after-hooks run in order): pods stop while Redis is still there.
  const redis = await startRedis(t);
  const side = join(box.dir, "side.log");
  const [webPort, webHealth, h1, h2] = await freePorts(4);
  const env = { SIDE_FILE: side };
  const fns = "square,slow,tally,fail,late,clone";
  const replicas = [h1, h2].map((h) => box.spawn(["start", "app.ts", "--only", fns, "--cluster", redis.url, "--health-port", String(h)], { env }));
  const web = box.spawn(["start", "app.ts", "--only", "api", "--port", String(webPort), "--health-port", String(webHealth)], { env: { ...env, NODAL_CLUSTER: redis.url } });
  for (const [pod, health] of [[web, webHealth], [replicas[0], h1], [replicas[1], h2]]) {
    await waitUntil(async () => (await request(`http://127.0.0.1:${health}/readyz`).catch(() => ({ status: 0 }))).status === 200, { what: `pod ${pod.pid} ready`, timeoutMs: 30_000 });
  }
  for (const r of replicas) await r.waitFor(/consuming the queue of tally/);
  const call = async (op, n = 0, timeoutMs = 60_000) => JSON.parse((await request(`http://127.0.0.1:${webPort}/?op=${op}&n=${n}`, { timeoutMs })).body);
  const sideLines = () => {
    try {
      return readFileSync(side, "utf8").split("\n").filter(Boolean);
    } catch {
      return [];
    }
  };
  return { redis, box, web, replicas, call, sideLines, env };
}

test("calls from a web pod are served by both replicas; values keep structured clone; errors keep their remote stack after the retries; timeouts kill the worker", async (t) => {
  const { web, replicas, call, sideLines } = await cluster(t);
  const results = await call("square", 40);
  assert.deepEqual(results.map((r) => r.y), Array.from({ length: 40 }, (_, i) => i * i));
  assert.deepEqual(new Set(results.map((r) => r.pod)), new Set(replicas.map((r) => r.pid)), "both replicas served");
  assert.deepEqual(await call("clone"), [true, true, 1000]);

  const failed = await call("fail");
  assert.equal(failed.error.name, "RangeError");
  assert.match(failed.error.message, /^function "fail" failed after 2 attempts: always fails$/);
  assert.match(failed.error.stack, /app\.ts:\d+/, "the remote stack points into the app");
  assert.equal(sideLines().filter((l) => l.startsWith("fail ")).length, 2, "one attempt plus one retry");

  const late = await call("late");
  assert.equal(late.error.name, "FunctionTimeoutError");
  assert.match(late.error.message, /"late" timed out after 1s/);
  // No local pool for functions the web pod does not run: it started no worker of its own for them.
  assert.doesNotMatch(web.stdout, /"function":"(square|fail|late)"/);
});

test("a replica killed with SIGKILL during a 3 s call: another replica runs it and the call returns", async (t) => {
  const { replicas, call, sideLines } = await cluster(t);
  const pending = call("slow", 3000);
  await waitUntil(() => sideLines().some((l) => l.startsWith("slow ")), { what: "the call started", timeoutMs: 20_000 });
  const first = Number(sideLines().find((l) => l.startsWith("slow ")).split(" ")[1]);
  const victim = replicas.find((r) => r.pid === first);
  assert.ok(victim, "a replica ran it");
  process.kill(victim.pid, "SIGKILL");
  const pod = await pending;
  const other = replicas.find((r) => r !== victim).pid;
  assert.equal(pod, other, "the surviving replica returned it");
  assert.deepEqual(sideLines().filter((l) => l.startsWith("slow ")), [`slow ${first}`, `slow ${other}`]);
});

test("a call spawned in one process is read with FunctionCall.fromId in another; Function.fromName goes through Redis", async (t) => {
  const { box, replicas, redis, call } = await cluster(t);
  const env = { ...box.env, NODAL_CLUSTER: redis.url };
  // No process.exit: a script exits on its own once its calls are done (spawnSync's timeout would fail the test).
  const script = (body) => `import { Function, FunctionCall } from ${SDK};\n${body}\n`;
  box.write({
    "spawner.mjs": script(`const c = await Function.fromName("clu", "slow").spawn(200); console.log(c.id);`),
    "getter.mjs": script(`const id = process.argv[2]; const out = { value: await FunctionCall.fromId(id).get({ timeout: 30 }) };
try { await FunctionCall.fromId(id.slice(0, -4) + "AAAA").get(); } catch (e) { out.missing = [e.name, e.message]; }
console.log(JSON.stringify(out));`),
  });
  const spawned = spawnSync(process.execPath, ["spawner.mjs"], { cwd: box.dir, env, encoding: "utf8", timeout: 30_000 });
  assert.equal(spawned.status, 0, `the script exits by itself: ${spawned.signal} ${spawned.stderr}`);
  const id = spawned.stdout.trim();
  assert.match(id, /^fc-[0-9a-f]{20}-/, spawned.stderr);
  const got = spawnSync(process.execPath, ["getter.mjs", id], { cwd: box.dir, env, encoding: "utf8", timeout: 30_000 });
  assert.equal(got.status, 0, `the script exits by itself: ${got.signal} ${got.stderr}`);
  const out = JSON.parse(got.stdout);
  assert.ok(replicas.some((r) => r.pid === out.value), `a replica's pid, got ${got.stdout} ${got.stderr}`);
  assert.equal(out.missing[0], "NotFoundError");
  // From app code too: spawn in the web pod's worker, read here; fromName inside a worker.
  const fromWeb = await call("spawn", 100);
  const again = spawnSync(process.execPath, ["getter.mjs", fromWeb], { cwd: box.dir, env, encoding: "utf8", timeout: 30_000 });
  assert.ok(replicas.some((r) => r.pid === JSON.parse(again.stdout).value), again.stderr);
  assert.equal(await call("fromName", 9), 81);
});

test("1,000 map inputs over two replicas: each input runs exactly once", async (t) => {
  const { replicas, call, sideLines } = await cluster(t);
  const pods = await call("map", 1000, 120_000);
  assert.equal(pods.length, 1000);
  assert.deepEqual(new Set(pods), new Set(replicas.map((r) => r.pid)), "both replicas served");
  const ran = sideLines().filter((l) => l.startsWith("tally ")).map((l) => Number(l.split(" ")[1]));
  assert.equal(ran.length, 1000, "no input ran twice");
  assert.deepEqual([...new Set(ran)].sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i));
});

test("Redis restarted mid-call: the caller gets a clear error (or the result), never hangs; calls work again once it is back", async (t) => {
  const { redis, call, sideLines } = await cluster(t);
  const pending = call("slow", 3000, 45_000);
  await waitUntil(() => sideLines().some((l) => l.startsWith("slow ")), { what: "the call started", timeoutMs: 20_000 });
  await redis.kill();
  await redis.start();
  const outcome = await pending;
  if (typeof outcome !== "number") {
    assert.equal(outcome.error.name, "UserError");
    assert.match(outcome.error.message, /lost the connection to Redis \(redis:\/\/127\.0\.0\.1:\d+\/?\) while waiting for function "slow"/);
  }
  // Pods reconnect on their own: the next calls complete.
  await waitUntil(async () => typeof (await call("slow", 10, 20_000)) === "number", { what: "calls work again", timeoutMs: 30_000 });
  const results = await call("square", 4);
  assert.deepEqual(results.map((r) => r.y), [0, 1, 4, 9]);
});
